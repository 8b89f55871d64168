import DFSCore
import NIOCore
import Synchronization

/// Tells a stuck receiver of a streamed request from one that is merely waiting for the sender's next bytes.
///
/// The receiver is idle while its request is *not* waiting for data: the HTTP client is blocked writing (the
/// receiver stopped reading), still connecting, or awaiting the answer after the last byte. Time spent waiting
/// for the uploader never counts, so a slow client cannot fail a healthy node.
public final class IdleWatch: Sendable {
    private struct State {
        var isWaitingForData = false
        var since: ContinuousClock.Instant
    }

    private let state: Mutex<State>

    public init(now: ContinuousClock.Instant = .now) {
        state = Mutex(State(since: now))
    }

    public func beginWaitingForData() {
        state.withLock { $0 = State(isWaitingForData: true, since: .now) }
    }

    public func endWaitingForData() {
        state.withLock { $0 = State(isWaitingForData: false, since: .now) }
    }

    /// How long the receiver has been idle, zero while its request waits for data.
    public func idleTime(at now: ContinuousClock.Instant = .now) -> Duration {
        state.withLock { $0.isWaitingForData ? .zero : now - $0.since }
    }

    /// Returns only by throwing: `IdleTimeout` once idle for `limit`, or `CancellationError`.
    public func expire(after limit: Duration) async throws -> Never {
        let step = min(.seconds(1), max(.milliseconds(10), limit / 10))
        while true {
            try await Task.sleep(for: step)
            if idleTime() >= limit { throw IdleTimeout(limit: limit) }
        }
    }

    /// The chunks of `source`, reporting to this watch while the consumer waits for data.
    public func watching<Source: AsyncSequence & Sendable>(_ source: Source) -> AnyByteStream where Source.Element == ByteBuffer {
        AnyByteStream(WatchedChunks(source: source, watch: self))
    }
}

/// A receiver made no progress (read nothing, answered nothing) for `limit`.
public struct IdleTimeout: Error, Sendable, CustomStringConvertible {
    public let limit: Duration
    public var description: String { "no progress for \(limit)" }
}

private struct WatchedChunks<Source: AsyncSequence & Sendable>: AsyncSequence, Sendable where Source.Element == ByteBuffer {
    typealias Element = ByteBuffer
    let source: Source
    let watch: IdleWatch

    struct AsyncIterator: AsyncIteratorProtocol {
        var base: Source.AsyncIterator
        let watch: IdleWatch

        mutating func next() async throws -> ByteBuffer? {
            watch.beginWaitingForData()
            defer { watch.endWaitingForData() }
            return try await base.next()
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(base: source.makeAsyncIterator(), watch: watch) }
}
