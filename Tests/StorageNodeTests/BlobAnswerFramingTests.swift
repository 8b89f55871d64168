import DFSCore
import NIOCore
import Testing

@testable import DFSClient
@testable import StorageNode

/// The gateway's check of a node's read answer before any byte of it is passed on, and the framing real nodes use.
@Suite("Blob answer framing")
struct BlobAnswerFramingTests {
    let range = ByteRange(first: 983_040, last: 1_048_575)

    @Test("a range answered with exactly that range is accepted; its framing decides whether it may end early")
    func matchingRange() throws {
        let framed = try BlobAnswerFraming(
            partial: true, requested: range, contentRange: "bytes 983040-1048575/1048576", declaredLength: "65536",
            httpLength: "65536")
        #expect(framed.servedRange == range && framed.totalSize == 1_048_576 && framed.bodyLength == 65_536)
        #expect(!framed.mayEndBeforeDamage)
        let chunked = try BlobAnswerFraming(
            partial: true, requested: range, contentRange: "bytes 983040-1048575/1048576", declaredLength: "65536",
            httpLength: nil)
        #expect(chunked.mayEndBeforeDamage)
    }

    @Test("a node that ignores the range, shifts it, or states two lengths is refused before any byte passes")
    func inconsistentAnswersRefused() {
        let refusals: [(String, () throws -> BlobAnswerFraming)] = [
            (
                "whole blob for a range",
                {
                    try BlobAnswerFraming(
                        partial: false, requested: self.range, contentRange: nil, declaredLength: "1048576", httpLength: "1048576"
                    )
                }
            ),
            (
                "another range",
                {
                    try BlobAnswerFraming(
                        partial: true, requested: self.range, contentRange: "bytes 0-65535/1048576", declaredLength: "65536",
                        httpLength: "65536")
                }
            ),
            (
                "a range nobody asked for",
                {
                    try BlobAnswerFraming(
                        partial: true, requested: nil, contentRange: "bytes 0-65535/1048576", declaredLength: "65536",
                        httpLength: nil)
                }
            ),
            (
                "Content-Length shorter than the body it serves",
                {
                    try BlobAnswerFraming(
                        partial: false, requested: nil, contentRange: nil, declaredLength: "1048576", httpLength: "983040")
                }
            ),
            (
                "Content-Range beyond the blob",
                {
                    try BlobAnswerFraming(
                        partial: true, requested: ByteRange(first: 0, last: 10), contentRange: "bytes 0-10/5",
                        declaredLength: "11", httpLength: "11")
                }
            ),
            (
                "no length at all",
                {
                    try BlobAnswerFraming(partial: false, requested: nil, contentRange: nil, declaredLength: nil, httpLength: nil)
                }
            ),
        ]
        for (name, answer) in refusals {
            #expect(throws: BlobAnswerFraming.Problem.self, "\(name)") { try answer() }
        }
    }

    @Test("a real node frames a one-block answer by Content-Length and a longer one chunked, and serves ranges exactly")
    func liveNodeFraming() async throws {
        let small = testBytes(1 << 20, seed: 5)
        let large = testBytes(3 << 20, seed: 6)
        try await withTemporaryDirectory { root in
            try await withLiveNode(id: "node-1", data: root) { app, endpoint in
                let client = HTTPNodeClient(httpClient: app.httpClient)
                for (name, bytes) in [("small", small), ("large", large)] {
                    let key = try FileKey(validating: name)
                    _ = try await app.store.put(key, body: chunkedBody(bytes))
                    let whole = try await client.getBlob(key, from: endpoint, range: nil, expecting: nil)
                    #expect(whole.mayEndBeforeDamage == (bytes.count > 1 << 20), "\(name)")
                    #expect(try await collect(whole.body) == bytes, "\(name)")
                    let part = ByteRange(first: 983_040, last: Int64(bytes.count) - 1)
                    let ranged = try await client.getBlob(key, from: endpoint, range: part, expecting: nil)
                    #expect(ranged.range == part && ranged.totalSize == Int64(bytes.count), "\(name)")
                    #expect(try await collect(ranged.body) == Array(bytes[983_040...]), "\(name)")
                }
            }
        }
    }

    private func collect(_ body: AnyByteStream) async throws -> [UInt8] {
        var out: [UInt8] = []
        for try await chunk in body { out += chunk.readableBytesView }
        return out
    }
}
