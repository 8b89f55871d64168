import DFSClient
import DFSCore
import NIOCore
import Synchronization

/// Tells a stuck replication target from one that is merely waiting for the client's next bytes.
///
/// A target is idle while it is *not* waiting on the primary for data: its HTTP client is blocked
/// writing (the target stopped reading), still connecting, or awaiting the answer after the last
/// byte. Time spent waiting for the uploader never counts, so a slow client cannot fail a healthy target.
final class IdleWatch: Sendable {
    private struct State {
        var isWaitingForData = false
        var since: ContinuousClock.Instant
    }

    private let state: Mutex<State>

    init(now: ContinuousClock.Instant = .now) {
        state = Mutex(State(since: now))
    }

    func beginWaitingForData() {
        state.withLock { $0 = State(isWaitingForData: true, since: .now) }
    }

    func endWaitingForData() {
        state.withLock { $0 = State(isWaitingForData: false, since: .now) }
    }

    /// How long the target has been idle, zero while it waits for the primary.
    func idleTime(at now: ContinuousClock.Instant = .now) -> Duration {
        state.withLock { $0.isWaitingForData ? .zero : now - $0.since }
    }

    /// Returns only by throwing: `ReplicaIdleTimeout` once idle for `limit`, or `CancellationError`.
    func expire(after limit: Duration) async throws -> Never {
        let step = min(.seconds(1), max(.milliseconds(10), limit / 10))
        while true {
            try await Task.sleep(for: step)
            if idleTime() >= limit { throw ReplicaIdleTimeout(limit: limit) }
        }
    }

    /// The chunks of `pipe`, reporting to this watch when the consumer waits for data.
    func watching(_ pipe: ChunkPipe) -> AnyByteStream {
        AnyByteStream(WatchedChunks(pipe: pipe, watch: self))
    }
}

/// A replication target made no progress for the configured replication timeout.
struct ReplicaIdleTimeout: Error, CustomStringConvertible {
    let limit: Duration
    var description: String { "no progress for \(limit) (replication timeout)" }
}

private struct WatchedChunks: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let pipe: ChunkPipe
    let watch: IdleWatch

    struct AsyncIterator: AsyncIteratorProtocol {
        var base: ChunkPipe.AsyncIterator
        let watch: IdleWatch

        mutating func next() async throws -> ByteBuffer? {
            watch.beginWaitingForData()
            defer { watch.endWaitingForData() }
            return try await base.next()
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(base: pipe.makeAsyncIterator(), watch: watch) }
}
