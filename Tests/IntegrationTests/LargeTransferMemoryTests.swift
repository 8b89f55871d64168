import AsyncHTTPClient
import Crypto
import DFSClient
import DFSCore
import Foundation
import NIOCore
import Testing
import TestSupport

/// No upload is ever held whole in memory: a 1 GiB file streams through the gateway and the nodes
/// while each process's peak resident memory (VmHWM) stays under 100 MiB. A memory check, not a timing.
@Suite("Streaming keeps memory flat", .serialized)
struct LargeTransferMemoryTests {
    static let size = 1 << 30
    static let limitKiB = 100 * 1024

    @Test("a 1 GiB upload and download keep gateway and node peak RSS under 100 MiB each")
    func oneGiBStaysFlat() async throws {
        try await withCluster(nodes: 3) { cluster in
            let source = GeneratedBytes(total: Self.size)
            var upload = HTTPClientRequest(url: cluster.gatewayURL + "/upload?filename=big.bin")
            upload.method = .POST
            upload.headers.add(name: "Content-Type", value: "application/octet-stream")
            upload.body = .stream(source, length: .known(Int64(Self.size)))
            let uploadResponse = try await HTTPClient.shared.execute(upload, timeout: .minutes(10))
            let uploadBody = try await uploadResponse.body.collect(upTo: 1 << 20)
            #expect(uploadResponse.status == .ok, "\(String(buffer: uploadBody))")
            let answer = try JSONDecoder().decode(UploadAnswer.self, from: Data(uploadBody.readableBytesView))
            #expect(answer.size_bytes == Int64(Self.size))
            #expect(answer.checksum_sha256 == source.expectedDigest.hex)
            #expect(answer.replication.successful.count == 2)

            let download = try await HTTPClient.shared.execute(
                HTTPClientRequest(url: cluster.gatewayURL + "/download/\(answer.file_id)"), timeout: .minutes(10))
            #expect(download.status == .ok)
            var hasher = StreamingSHA256()
            for try await chunk in download.body { hasher.update(chunk) }
            #expect(hasher.byteCount == Int64(Self.size))
            #expect(hasher.finalize() == source.expectedDigest)

            var peaks: [String: Int] = [:]
            for (member, pid) in await cluster.local.runningProcessIDs() {
                peaks["\(member)"] = peakResidentKiB(of: pid)
            }
            print("peak RSS (KiB) after 1 GiB up+down: \(peaks.sorted { $0.key < $1.key })")
            #expect(peaks.count == 4)
            for (member, peak) in peaks {
                #expect(peak < Self.limitKiB, "\(member) peaked at \(peak / 1024) MiB")
            }
        }
    }
}

/// VmHWM of a process in KiB, from /proc.
func peakResidentKiB(of pid: Int32) -> Int? {
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
    for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
    }
    return nil
}

/// `total` pseudo-random bytes made on the fly in 1 MiB chunks (a random block, each copy stamped with its
/// index), so the test itself holds only one chunk; the digest is computed up front.
struct GeneratedBytes: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let total: Int
    let block: [UInt8]
    let expectedDigest: DFSCore.SHA256Digest
    static let chunkSize = 1 << 20

    init(total: Int) {
        self.total = total
        self.block = randomBytes(Self.chunkSize)
        var hasher = StreamingSHA256()
        var index = 0
        var produced = 0
        while produced < total {
            let chunk = Self.chunk(block, index: index, length: Swift.min(Self.chunkSize, total - produced))
            hasher.update(chunk)
            produced += chunk.readableBytes
            index += 1
        }
        self.expectedDigest = hasher.finalize()
    }

    static func chunk(_ block: [UInt8], index: Int, length: Int) -> ByteBuffer {
        var buffer = ByteBuffer(bytes: block[0..<length])
        buffer.setInteger(UInt64(index), at: 0)
        return buffer
    }

    struct AsyncIterator: AsyncIteratorProtocol {
        let sequence: GeneratedBytes
        var index = 0
        var produced = 0
        mutating func next() async -> ByteBuffer? {
            guard produced < sequence.total else { return nil }
            let chunk = GeneratedBytes.chunk(
                sequence.block, index: index, length: Swift.min(GeneratedBytes.chunkSize, sequence.total - produced))
            produced += chunk.readableBytes
            index += 1
            return chunk
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(sequence: self) }
}
