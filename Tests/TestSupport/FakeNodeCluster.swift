import DFSClient
import DFSCore
import Foundation
import NIOCore

/// In-memory storage nodes behind the `NodeClient` protocol, for driving the gateway's coordinators without
/// sockets. Each node can be made down (refuses), corrupt (stores one byte flipped and reports that digest)
/// or missing blobs; a primary put fans out to the named targets as a real node does.
public final class FakeNodeCluster: NodeClient, @unchecked Sendable {
    // @unchecked: all mutable state is behind `lock`.
    public enum Behaviour: Sendable, Equatable {
        case healthy
        case down
        case corrupt
        /// Like a SIGSTOPped process: every call waits until cancelled (or its timeout, for health).
        case hung
        /// Reads answer, but only after this long.
        case slowFirstByte(Duration)
        /// Reads deliver this many bytes, then nothing more until cancelled.
        case stallsAfter(bytes: Int)
    }

    private let lock = NSLock()
    private var blobs: [String: [String: [UInt8]]] = [:]
    private var behaviours: [String: Behaviour] = [:]
    private var getCounts: [String: Int] = [:]

    public init() {}

    public func set(_ node: String, _ behaviour: Behaviour) { lock.withLock { behaviours[node] = behaviour } }
    public func blob(_ key: String, on node: String) -> [UInt8]? { lock.withLock { blobs[node]?[key] } }
    public func removeBlob(_ key: String, on node: String) { lock.withLock { _ = blobs[node]?.removeValue(forKey: key) } }
    public func reads(on node: String) -> Int { lock.withLock { getCounts[node] ?? 0 } }

    private func behaviour(_ node: NodeID) -> Behaviour { lock.withLock { behaviours[node.rawValue] ?? .healthy } }

    private func refuseIfDown(_ node: NodeEndpoint) async throws {
        switch behaviour(node.id) {
        case .down: throw NodeRequestError.unreachable(node.id, reason: "connection refused")
        case .hung: try await Self.hangUntilCancelled()
        default: break
        }
    }

    private static func hangUntilCancelled() async throws {
        try await Task.sleep(for: .seconds(3600))
        throw CancellationError()
    }

    public func health(of node: NodeEndpoint, timeout: Duration) async throws -> NodeHealth {
        if behaviour(node.id) == .hung {
            try await Task.sleep(for: timeout)
            throw NodeRequestError.unreachable(node.id, reason: "health timeout")
        }
        try await refuseIfDown(node)
        return NodeHealth(status: "UP", nodeID: node.id.rawValue, freeBytes: 1 << 40, blobCount: lock.withLock { blobs[node.id.rawValue]?.count ?? 0 })
    }

    public func putBlob(_ key: FileKey, on node: NodeEndpoint, body: AnyByteStream, length: Int64?, replicateTo targets: [NodeEndpoint],
                        expectedDigest: SHA256Digest?) async throws -> BlobPutResult {
        try await refuseIfDown(node)
        var bytes: [UInt8] = []
        for try await chunk in body { bytes += chunk.readableBytesView }
        let own = try store(bytes, key: key, on: node.id, expectedDigest: expectedDigest)
        var replicas: [ReplicaOutcome] = []
        for target in targets {
            // A real primary waits for a hung target until its replication timeout.
            if behaviour(target.id) == .hung { try await Self.hangUntilCancelled() }
            if behaviour(target.id) == .down {
                replicas.append(ReplicaOutcome(nodeID: target.id.rawValue, stored: false, checksumSHA256: nil, sizeBytes: nil, error: "\(target.id): unreachable (connection refused)"))
                continue
            }
            let stored = try store(bytes, key: key, on: target.id, expectedDigest: nil)
            replicas.append(ReplicaOutcome(nodeID: target.id.rawValue, stored: true, checksumSHA256: stored.hex, sizeBytes: Int64(bytes.count), error: nil))
        }
        return BlobPutResult(nodeID: node.id.rawValue, key: key.rawValue, sizeBytes: Int64(bytes.count), checksumSHA256: own.hex, replicas: replicas)
    }

    private func store(_ original: [UInt8], key: FileKey, on node: NodeID, expectedDigest: SHA256Digest?) throws -> SHA256Digest {
        var bytes = original
        if behaviour(node) == .corrupt, !bytes.isEmpty { bytes[bytes.count / 2] ^= 0xFF }
        let digest = Self.digest(bytes)
        if let expectedDigest, expectedDigest != digest { throw NodeRequestError.digestMismatch(node, message: "body hashes to \(digest.hex)") }
        lock.withLock { blobs[node.rawValue, default: [:]][key.rawValue] = bytes }
        return digest
    }

    public func getBlob(_ key: FileKey, from node: NodeEndpoint, range: ByteRange?) async throws -> BlobReadStream {
        try await refuseIfDown(node)
        let stored: [UInt8]? = lock.withLock {
            getCounts[node.id.rawValue, default: 0] += 1
            return blobs[node.id.rawValue]?[key.rawValue]
        }
        guard let bytes = stored else { throw NodeRequestError.blobNotFound(node.id) }
        let slice = range.map { Array(bytes[Int($0.first)...Int($0.last)]) } ?? bytes
        let chunks = stride(from: 0, to: slice.count, by: 1000).map { ByteBuffer(bytes: slice[$0..<min($0 + 1000, slice.count)]) }
        switch behaviour(node.id) {
        case .slowFirstByte(let delay):
            try await Task.sleep(for: delay)
        case .stallsAfter(let limit):
            return BlobReadStream(
                totalSize: Int64(bytes.count), range: range, recordedDigest: nil, body: AnyByteStream(StallingChunks(chunks: chunks, limit: limit)))
        default:
            break
        }
        return BlobReadStream(totalSize: Int64(bytes.count), range: range, recordedDigest: nil, body: AnyByteStream(chunks: chunks))
    }

    public func deleteBlob(_ key: FileKey, on node: NodeEndpoint) async throws -> Bool {
        try await refuseIfDown(node)
        return lock.withLock { blobs[node.id.rawValue]?.removeValue(forKey: key.rawValue) != nil }
    }

    public func inventory(of node: NodeEndpoint, after: String?, limit: Int) async throws -> InventoryPage {
        try await refuseIfDown(node)
        let keys = lock.withLock { (blobs[node.id.rawValue] ?? [:]).map { ($0.key, $0.value.count) } }.sorted { $0.0 < $1.0 }
        let page = keys.filter { after == nil || $0.0 > after! }.prefix(limit)
        return InventoryPage(blobs: page.map { InventoryEntry(key: $0.0, sizeBytes: Int64($0.1), modifiedAt: 0) }, nextAfter: page.count == limit ? page.last?.0 : nil)
    }

    public static func digest(_ bytes: [UInt8]) -> SHA256Digest {
        var hasher = StreamingSHA256()
        hasher.update(ByteBuffer(bytes: bytes))
        return hasher.finalize()
    }
}

/// Chunks that stop after `limit` bytes and then wait until cancelled: a source that stalls mid-stream.
struct StallingChunks: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let chunks: [ByteBuffer]
    let limit: Int

    struct AsyncIterator: AsyncIteratorProtocol {
        var remaining: ArraySlice<ByteBuffer>
        var sent = 0
        let limit: Int

        mutating func next() async throws -> ByteBuffer? {
            guard let chunk = remaining.first else { return nil }
            if sent >= limit {
                try await Task.sleep(for: .seconds(3600))
                throw CancellationError()
            }
            remaining = remaining.dropFirst()
            sent += chunk.readableBytes
            return chunk
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(remaining: chunks[...], limit: limit) }
}
