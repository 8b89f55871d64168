import DFSClient
import DFSCore
import Foundation
import NIOCore

/// In-memory storage nodes behind the `NodeClient` protocol, for driving the gateway's coordinators without
/// sockets. Each node can be made down (refuses), corrupt (stores one byte flipped and reports that digest), hung,
/// slow or stalling, or lose blobs; a stored blob can rot (`rot`). A primary put fans out to the named targets as a
/// real node does, and reads verify as a real node does: a copy other than the expected one is refused, and a
/// rotten block is never sent (refused before the first byte when it is the first block read, else the stream is
/// cut just before it and the block is listed by `damagedBlocks`).
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
        /// Like a node SIGSTOPped while an upload streams to it: a put reads this many bytes (its socket buffers), then
        /// nothing more until cancelled; every other call, health included, waits as for `hung`.
        case hungAfterReading(bytes: Int)
        /// Reads deliver this many bytes at once, then each further 1000-byte chunk after `chunkDelay`.
        case tricklesAfter(bytes: Int, chunkDelay: Duration)
        /// Reads end cleanly after this many bytes, as no correct node ends them: inside a block, or (when
        /// `framedByLength`) short of the Content-Length the answer declared.
        case endsCleanlyAfter(bytes: Int, framedByLength: Bool)
        /// Reads send the copy's checked bytes with the one at blob offset `flippedAt` changed on the way (a fault
        /// past the node's check), then stall after `stallsAfter` bytes when given.
        case altersInTransit(flippedAt: Int64, stallsAfter: Int?)
    }

    /// A blob as a node holds it: its bytes now, and the digests it recorded when it was written.
    struct Stored {
        var bytes: [UInt8]
        var recorded: BlobDigests
        var damaged: Set<Int> = []
    }

    private let lock = NSLock()
    private var blobs: [String: [String: Stored]] = [:]
    private var behaviours: [String: Behaviour] = [:]
    private var getCounts: [String: Int] = [:]

    public init() {}

    public func set(_ node: String, _ behaviour: Behaviour) { lock.withLock { behaviours[node] = behaviour } }
    public func blob(_ key: String, on node: String) -> [UInt8]? { lock.withLock { blobs[node]?[key]?.bytes } }
    public func removeBlob(_ key: String, on node: String) { lock.withLock { _ = blobs[node]?.removeValue(forKey: key) } }
    public func reads(on node: String) -> Int { lock.withLock { getCounts[node] ?? 0 } }

    /// The blocks of `key` each node's reads found damaged, by node (nodes with none left out).
    public func damagedBlocksSeen(_ key: String) -> [String: [Int]] {
        lock.withLock {
            blobs.compactMapValues { $0[key].flatMap { $0.damaged.isEmpty ? nil : $0.damaged.sorted() } }
        }
    }

    /// Flips the byte at `offset` of a stored blob, as bit rot on disk would: the recorded digests stay.
    public func rot(_ key: String, on node: String, at offset: Int) {
        lock.withLock { blobs[node]?[key]?.bytes[offset] ^= 0x01 }
    }

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
        if case .hungAfterReading = behaviour(node.id) {
            try await Task.sleep(for: timeout)
            throw NodeRequestError.unreachable(node.id, reason: "health timeout")
        }
        if behaviour(node.id) == .hung {
            try await Task.sleep(for: timeout)
            throw NodeRequestError.unreachable(node.id, reason: "health timeout")
        }
        try await refuseIfDown(node)
        return NodeHealth(
            status: "UP", nodeID: node.id.rawValue, freeBytes: 1 << 40,
            blobCount: lock.withLock { blobs[node.id.rawValue]?.count ?? 0 })
    }

    public func putBlob(
        _ key: FileKey, on node: NodeEndpoint, body: AnyByteStream, length: Int64?, replicateTo targets: [NodeEndpoint],
        expectedDigest: SHA256Digest?, expectedBlockRoot: SHA256Digest?
    ) async throws -> BlobPutResult {
        try await refuseIfDown(node)
        if case .hungAfterReading(let limit) = behaviour(node.id) {
            var received = 0
            for try await chunk in body {
                received += chunk.readableBytes
                if received >= limit { break }
            }
            try await Self.hangUntilCancelled()
        }
        var bytes: [UInt8] = []
        for try await chunk in body { bytes += chunk.readableBytesView }
        let own = try store(bytes, key: key, on: node.id, expectedDigest: expectedDigest, expectedBlockRoot: expectedBlockRoot)
        var replicas: [ReplicaOutcome] = []
        for target in targets {
            // A real primary waits for a hung target until its replication timeout.
            if behaviour(target.id) == .hung { try await Self.hangUntilCancelled() }
            if behaviour(target.id) == .down {
                replicas.append(
                    ReplicaOutcome(
                        nodeID: target.id.rawValue, stored: false, checksumSHA256: nil, sizeBytes: nil,
                        error: "\(target.id): unreachable (connection refused)"))
                continue
            }
            let stored = try store(bytes, key: key, on: target.id, expectedDigest: nil, expectedBlockRoot: expectedBlockRoot)
            replicas.append(
                ReplicaOutcome(
                    nodeID: target.id.rawValue, stored: true, checksumSHA256: stored.whole.hex, sizeBytes: Int64(bytes.count),
                    blockRoot: stored.blocks.root.hex, error: nil))
        }
        return BlobPutResult(
            nodeID: node.id.rawValue, key: key.rawValue, sizeBytes: Int64(bytes.count), checksumSHA256: own.whole.hex,
            blockRoot: own.blocks.root.hex,
            replicas: replicas)
    }

    private func store(
        _ original: [UInt8], key: FileKey, on node: NodeID, expectedDigest: SHA256Digest?, expectedBlockRoot: SHA256Digest?
    ) throws -> BlobDigests {
        var bytes = original
        if behaviour(node) == .corrupt, !bytes.isEmpty { bytes[bytes.count / 2] ^= 0xFF }
        let digests = Self.digests(bytes)
        if let expectedDigest, expectedDigest != digests.whole {
            throw NodeRequestError.digestMismatch(node, message: "body hashes to \(digests.whole.hex)")
        }
        if let expectedBlockRoot, expectedBlockRoot != digests.blocks.root {
            throw NodeRequestError.digestMismatch(node, message: "block root differs")
        }
        lock.withLock { blobs[node.rawValue, default: [:]][key.rawValue] = Stored(bytes: bytes, recorded: digests) }
        return digests
    }

    public func getBlob(
        _ key: FileKey, from node: NodeEndpoint, range: ByteRange?, expecting expectation: BlobExpectation?
    ) async throws -> BlobReadStream {
        try await refuseIfDown(node)
        let found: Stored? = lock.withLock {
            getCounts[node.id.rawValue, default: 0] += 1
            return blobs[node.id.rawValue]?[key.rawValue]
        }
        guard let stored = found else { throw NodeRequestError.blobNotFound(node.id) }
        let bytes = stored.bytes
        let blocks = stored.recorded.blocks
        if let expectation,
            expectation.digest != stored.recorded.whole || (expectation.blockRoot.map { $0 != blocks.root } ?? false)
        {
            throw NodeRequestError.blobCorrupt(node.id, message: "not the expected copy")
        }
        // As a real node: every block the range touches is checked; nothing from the first bad one on is sent, and the
        // body ends early but cleanly before it.
        var sendable = range ?? ByteRange(first: 0, last: Int64(bytes.count) - 1)
        if !bytes.isEmpty {
            for index in blocks.blocks(covering: sendable) {
                let span = blocks.span(ofBlock: index)
                guard !blocks.matches(block: index, ByteBuffer(bytes: bytes[Int(span.lowerBound)..<Int(span.upperBound)])) else {
                    continue
                }
                lock.withLock { _ = blobs[node.id.rawValue]?[key.rawValue]?.damaged.insert(index) }
                guard span.lowerBound > sendable.first else {
                    throw NodeRequestError.blobCorrupt(node.id, message: "block \(index) damaged")
                }
                sendable = ByteRange(first: sendable.first, last: span.lowerBound - 1)
                break
            }
        }
        var slice = bytes.isEmpty ? [] : Array(bytes[Int(sendable.first)...Int(sendable.last)])
        if case .altersInTransit(let flippedAt, _) = behaviour(node.id), flippedAt >= sendable.first,
            flippedAt <= sendable.last
        {
            slice[Int(flippedAt - sendable.first)] ^= 0xFF
        }
        let chunks = stride(from: 0, to: slice.count, by: 1000).map { ByteBuffer(bytes: slice[$0..<min($0 + 1000, slice.count)]) }
        switch behaviour(node.id) {
        case .slowFirstByte(let delay):
            try await Task.sleep(for: delay)
        case .stallsAfter(let limit):
            return BlobReadStream(
                totalSize: Int64(bytes.count), range: range, recordedDigest: stored.recorded.whole, blockRoot: blocks.root,
                body: AnyByteStream(StallingChunks(chunks: chunks, limit: limit)))
        case .tricklesAfter(let limit, let delay):
            return BlobReadStream(
                totalSize: Int64(bytes.count), range: range, recordedDigest: stored.recorded.whole, blockRoot: blocks.root,
                body: AnyByteStream(StallingChunks(chunks: chunks, limit: limit, delayAfterLimit: delay)))
        case .altersInTransit(_, let stallsAfter?):
            return BlobReadStream(
                totalSize: Int64(bytes.count), range: range, recordedDigest: stored.recorded.whole, blockRoot: blocks.root,
                body: AnyByteStream(StallingChunks(chunks: chunks, limit: stallsAfter)))
        case .endsCleanlyAfter(let limit, let framedByLength):
            return BlobReadStream(
                totalSize: Int64(bytes.count), range: range, recordedDigest: stored.recorded.whole, blockRoot: blocks.root,
                mayEndBeforeDamage: !framedByLength,
                body: AnyByteStream(chunks: [ByteBuffer(bytes: slice.prefix(limit))]))
        default:
            break
        }
        return BlobReadStream(
            totalSize: Int64(bytes.count), range: range, recordedDigest: stored.recorded.whole, blockRoot: blocks.root,
            body: AnyByteStream(chunks: chunks))
    }

    public func damagedBlocks(of key: FileKey, on node: NodeEndpoint, timeout: Duration) async throws -> [Int] {
        try await refuseIfDown(node)
        guard let stored = lock.withLock({ blobs[node.id.rawValue]?[key.rawValue] }) else {
            throw NodeRequestError.blobNotFound(node.id)
        }
        return stored.damaged.sorted()
    }

    public func verifyBlob(
        _ key: FileKey, on node: NodeEndpoint, expecting expectation: BlobExpectation?
    ) async throws -> BlobVerification {
        try await refuseIfDown(node)
        guard let stored = lock.withLock({ blobs[node.id.rawValue]?[key.rawValue] }) else {
            throw NodeRequestError.blobNotFound(node.id)
        }
        let blocks = stored.recorded.blocks
        let damaged = (0..<blocks.count).filter { index in
            let span = blocks.span(ofBlock: index)
            return !blocks.matches(block: index, ByteBuffer(bytes: stored.bytes[Int(span.lowerBound)..<Int(span.upperBound)]))
        }
        let other =
            expectation.map { $0.digest != stored.recorded.whole || ($0.blockRoot.map { $0 != blocks.root } ?? false) } ?? false
        return BlobVerification(
            sizeBytes: Int64(stored.bytes.count), checksumSHA256: stored.recorded.whole.hex, blockRoot: blocks.root.hex,
            damagedBlocks: damaged,
            intact: damaged.isEmpty && !other, blocksComputed: false,
            problem: damaged.isEmpty && !other ? nil : "damaged blocks \(damaged)")
    }

    public func retireBlob(_ key: FileKey, on node: NodeEndpoint) async throws -> Bool {
        try await deleteBlob(key, on: node)
    }

    public func deleteBlob(_ key: FileKey, on node: NodeEndpoint) async throws -> Bool {
        try await refuseIfDown(node)
        return lock.withLock { blobs[node.id.rawValue]?.removeValue(forKey: key.rawValue) != nil }
    }

    public func inventory(of node: NodeEndpoint, after: String?, limit: Int) async throws -> InventoryPage {
        try await refuseIfDown(node)
        let keys = lock.withLock { (blobs[node.id.rawValue] ?? [:]).map { ($0.key, $0.value.bytes.count) } }.sorted {
            $0.0 < $1.0
        }
        let page = keys.filter { after == nil || $0.0 > after! }.prefix(limit)
        return InventoryPage(
            blobs: page.map { InventoryEntry(key: $0.0, sizeBytes: Int64($0.1), modifiedAt: 0) },
            nextAfter: page.count == limit ? page.last?.0 : nil)
    }

    public static func digest(_ bytes: [UInt8]) -> SHA256Digest { digests(bytes).whole }

    /// The whole and block digests a node records for `bytes`.
    public static func digests(_ bytes: [UInt8]) -> BlobDigests {
        var hasher = BlobHasher()
        hasher.update(ByteBuffer(bytes: bytes))
        return hasher.finalize()
    }
}

/// Chunks that slow down after `limit` bytes: each further one comes after `delayAfterLimit` (nil: never, a source
/// that stalls mid-stream until cancelled).
struct StallingChunks: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let chunks: [ByteBuffer]
    let limit: Int
    var delayAfterLimit: Duration? = nil

    struct AsyncIterator: AsyncIteratorProtocol {
        var remaining: ArraySlice<ByteBuffer>
        var sent = 0
        let limit: Int
        let delayAfterLimit: Duration?

        mutating func next() async throws -> ByteBuffer? {
            guard let chunk = remaining.first else { return nil }
            if sent >= limit {
                guard let delayAfterLimit else {
                    try await Task.sleep(for: .seconds(3600))
                    throw CancellationError()
                }
                try await Task.sleep(for: delayAfterLimit)
            }
            remaining = remaining.dropFirst()
            sent += chunk.readableBytes
            return chunk
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(remaining: chunks[...], limit: limit, delayAfterLimit: delayAfterLimit)
    }
}
