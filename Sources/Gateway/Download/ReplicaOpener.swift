import DFSClient
import DFSCore
import NIOCore

/// Opens one replica for reading and waits for its first chunk, within `firstByteTimeout`: a node that fails or
/// hangs between the answer head and the first byte (SIGSTOP: the kernel accepts the connection, nobody answers)
/// costs a client this long, not the transfer idle timeout. Used for the first source, hedges and resumes alike.
struct ReplicaOpener: Sendable {
    let nodes: any NodeClient
    var firstByteTimeout: Duration

    func open(
        _ key: FileKey, on node: NodeEndpoint, range: ByteRange?, expecting expectation: BlobExpectation
    ) async throws -> OpenedReplica {
        let nodes = self.nodes
        let firstByteTimeout = self.firstByteTimeout
        return try await race {
            let started = ContinuousClock.now
            let stream = try await nodes.getBlob(key, from: node, range: range, expecting: expectation)
            var iterator = stream.body.makeAsyncIterator()
            let first = try await iterator.next()
            return OpenedReplica(stream: stream, iterator: iterator, first: first, latency: ContinuousClock.now - started)
        } against: {
            try await Task.sleep(for: firstByteTimeout)
            throw NodeRequestError.unreachable(node.id, reason: "no first byte within \(firstByteTimeout)")
        }
    }
}

/// A replica opened and its first chunk read; handed from the racing child task to the request's task, which
/// alone uses it afterwards (hence `@unchecked Sendable`).
final class OpenedReplica: @unchecked Sendable {
    let stream: BlobReadStream
    let iterator: AnyByteStream.AsyncIterator
    let first: ByteBuffer?
    /// Time to first byte.
    let latency: Duration

    init(stream: BlobReadStream, iterator: AnyByteStream.AsyncIterator, first: ByteBuffer?, latency: Duration) {
        self.stream = stream
        self.iterator = iterator
        self.first = first
        self.latency = latency
    }
}
