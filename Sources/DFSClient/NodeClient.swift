import DFSCore
import NIOCore

/// What the gateway (and a primary node, for replication) needs from a storage node.
public protocol NodeClient: Sendable {
    /// `GET /health`, bounded by `timeout`.
    func health(of node: NodeEndpoint, timeout: Duration) async throws -> NodeHealth

    /// Streams `body` into `key` on `node`; with `replicateTo` the node fans it out to those targets. The node (and
    /// each target) refuses a body whose SHA-256 or block root differs from the expected one.
    func putBlob(
        _ key: FileKey,
        on node: NodeEndpoint,
        body: AnyByteStream,
        length: Int64?,
        replicateTo targets: [NodeEndpoint],
        expectedDigest: SHA256Digest?,
        expectedBlockRoot: SHA256Digest?
    ) async throws -> BlobPutResult

    /// Opens a blob for reading; the stream must be consumed or dropped by the caller. The node sends only bytes
    /// it verified, and refuses (`blobCorrupt`) a copy that is not the one `expectation` describes.
    func getBlob(
        _ key: FileKey, from node: NodeEndpoint, range: ByteRange?, expecting expectation: BlobExpectation?
    ) async throws -> BlobReadStream

    /// The blocks of `key` that reads on `node` found damaged (empty when none), bounded by `timeout`.
    func damagedBlocks(of key: FileKey, on node: NodeEndpoint, timeout: Duration) async throws -> [Int]

    /// Has the node re-read and re-hash the whole blob block by block.
    func verifyBlob(
        _ key: FileKey, on node: NodeEndpoint, expecting expectation: BlobExpectation?
    ) async throws -> BlobVerification

    /// Removes a blob; returns `false` when the node did not hold it.
    func deleteBlob(_ key: FileKey, on node: NodeEndpoint) async throws -> Bool

    /// Removes a copy of a live file that placement moved elsewhere. Unlike `deleteBlob`, the node does not refuse
    /// later puts of the key: the copy may be placed there again.
    func retireBlob(_ key: FileKey, on node: NodeEndpoint) async throws -> Bool

    /// One page of the node's inventory, keys ascending after `after`.
    func inventory(of node: NodeEndpoint, after: String?, limit: Int) async throws -> InventoryPage
}

extension NodeClient {
    /// A put with no expected block root (uploads: the gateway learns the root as the body passes).
    public func putBlob(
        _ key: FileKey, on node: NodeEndpoint, body: AnyByteStream, length: Int64?, replicateTo targets: [NodeEndpoint],
        expectedDigest: SHA256Digest?
    ) async throws -> BlobPutResult {
        try await putBlob(
            key, on: node, body: body, length: length, replicateTo: targets, expectedDigest: expectedDigest,
            expectedBlockRoot: nil)
    }
}

/// An opened blob read: total size of the blob, the bytes of the requested range, the node's recorded digest and
/// how it verified what it sends.
public struct BlobReadStream: Sendable {
    public var totalSize: Int64
    public var range: ByteRange?
    public var recordedDigest: SHA256Digest?
    /// The root of the node's block digests, when it holds them.
    public var blockRoot: SHA256Digest?
    public var verification: BlobReadVerification
    /// The body may end cleanly before its length, at a block boundary, right before a block the node found damaged:
    /// true only for a chunked answer. A body framed by `Content-Length` that ends early is broken, never a
    /// verified prefix.
    public var mayEndBeforeDamage: Bool
    public var body: AnyByteStream

    public init(
        totalSize: Int64, range: ByteRange?, recordedDigest: SHA256Digest?, blockRoot: SHA256Digest? = nil,
        verification: BlobReadVerification = .blocks, mayEndBeforeDamage: Bool = true, body: AnyByteStream
    ) {
        self.totalSize = totalSize
        self.range = range
        self.recordedDigest = recordedDigest
        self.blockRoot = blockRoot
        self.verification = verification
        self.mayEndBeforeDamage = mayEndBeforeDamage
        self.body = body
    }
}

/// Why a node call failed, in the terms the gateway acts on.
public enum NodeRequestError: Error, Sendable, CustomStringConvertible {
    /// Connection refused, reset or timed out: the node is unreachable.
    case unreachable(NodeID, reason: String)
    case blobNotFound(NodeID)
    case insufficientStorage(NodeID, message: String)
    case digestMismatch(NodeID, message: String)
    /// The node's copy is damaged (a block no longer matches its digest) or is not the one expected.
    case blobCorrupt(NodeID, message: String)
    case rejected(NodeID, status: Int, message: String)
    case invalidResponse(NodeID, reason: String)

    public var nodeID: NodeID {
        switch self {
        case .unreachable(let id, _), .blobNotFound(let id), .insufficientStorage(let id, _),
            .digestMismatch(let id, _), .blobCorrupt(let id, _), .rejected(let id, _, _), .invalidResponse(let id, _):
            return id
        }
    }

    /// A short reason for logs, queue `error_message` and 503 bodies.
    public var description: String {
        switch self {
        case .unreachable(let id, let reason): return "\(id): unreachable (\(reason))"
        case .blobNotFound(let id): return "\(id): blob not found"
        case .insufficientStorage(let id, let message): return "\(id): disk full (\(message))"
        case .digestMismatch(let id, let message): return "\(id): digest mismatch (\(message))"
        case .blobCorrupt(let id, let message): return "\(id): copy damaged (\(message))"
        case .rejected(let id, let status, let message): return "\(id): HTTP \(status) (\(message))"
        case .invalidResponse(let id, let reason): return "\(id): invalid response (\(reason))"
        }
    }
}

/// A type-erased, single-pass stream of byte chunks, so fakes and real HTTP bodies share one type.
public struct AnyByteStream: AsyncSequence, Sendable {
    public typealias Element = ByteBuffer
    public typealias Failure = any Error

    private let makeIterator: @Sendable () -> AsyncIterator

    public init<S: AsyncSequence & Sendable>(_ sequence: S) where S.Element == ByteBuffer {
        self.makeIterator = {
            var iterator = sequence.makeAsyncIterator()
            return AsyncIterator { try await iterator.next() }
        }
    }

    /// A stream over chunks already in memory (tests and tiny bodies).
    public init(chunks: [ByteBuffer]) {
        self.makeIterator = {
            var remaining = chunks[...]
            return AsyncIterator { remaining.popFirst() }
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { makeIterator() }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let nextChunk: () async throws -> ByteBuffer?
        public mutating func next() async throws -> ByteBuffer? { try await nextChunk() }
    }
}
