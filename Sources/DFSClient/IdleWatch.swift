import DFSCore
import NIOCore
import Synchronization

/// Tells a stuck receiver of a streamed request from one that is merely waiting for the sender's next bytes.
///
/// The receiver is idle while its request is *not* waiting for data: the HTTP client is blocked writing (the
/// receiver stopped reading), still connecting, or awaiting the answer after the last byte. Time spent waiting
/// for the uploader never counts, so a slow client cannot fail a healthy node.
public final class IdleWatch: Sendable {
    /// The slowest rate at which a receiver is assumed to make what it received durable once the body has ended
    /// (its final fsync): a large body earns that much more time for its answer, so a healthy node flushing
    /// gigabytes is not taken for a hung one. Measured disks here flush 0.5-2 GB/s.
    public static let durableWriteBytesPerSecond: Int64 = 128 << 20

    private struct State {
        var isWaitingForData = false
        var since: ContinuousClock.Instant
        var bytesHandedOver: Int64 = 0
        var hasEnded = false
    }

    private let state: Mutex<State>

    public init(now: ContinuousClock.Instant = .now) {
        state = Mutex(State(since: now))
    }

    public func beginWaitingForData() {
        state.withLock { state in
            state.isWaitingForData = true
            state.since = .now
        }
    }

    public func endWaitingForData() {
        state.withLock { state in
            state.isWaitingForData = false
            state.since = .now
        }
    }

    /// Counts a chunk handed to the receiver, or (nil) the end of the body.
    func handedOver(_ chunk: ByteBuffer?) {
        state.withLock { state in
            if let chunk { state.bytesHandedOver += Int64(chunk.readableBytes) } else { state.hasEnded = true }
        }
    }

    /// How long the receiver has been idle, zero while its request waits for data.
    public func idleTime(at now: ContinuousClock.Instant = .now) -> Duration {
        state.withLock { $0.isWaitingForData ? .zero : now - $0.since }
    }

    /// How long the receiver may stay idle: `limit`, plus, once the body has ended, the time to flush it at
    /// `durableWriteBytesPerSecond`.
    public func allowedIdleTime(limit: Duration) -> Duration {
        state.withLock { state in
            guard state.hasEnded else { return limit }
            return limit + .milliseconds(state.bytesHandedOver * 1000 / Self.durableWriteBytesPerSecond)
        }
    }

    /// Returns only by throwing: `IdleTimeout` once idle for longer than allowed (see `allowedIdleTime`), or
    /// `CancellationError`.
    public func expire(after limit: Duration) async throws -> Never {
        let step = Self.step(for: limit)
        while true {
            try await sleepExcusingOwnDelay(step)
            if idleTime() >= allowedIdleTime(limit: limit) { throw IdleTimeout(limit: limit) }
        }
    }

    /// Like `expire(after:)`, but a receiver idle for half of what it is allowed is asked whether it is alive
    /// (`isAlive`, given the rest of the allowance to answer): an answer counts as progress, so a node that is
    /// merely busy (a loaded machine, a slow disk) is not taken for a hung one, while a hung one (SIGSTOP: nothing
    /// answers) is still abandoned when its allowance runs out.
    public func expire(
        after limit: Duration, unlessAlive isAlive: @escaping @Sendable (_ within: Duration) async -> Bool
    ) async throws -> Never {
        let step = Self.step(for: limit)
        while true {
            try await sleepExcusingOwnDelay(step)
            let allowed = allowedIdleTime(limit: limit)
            let idle = idleTime()
            if idle >= allowed { throw IdleTimeout(limit: limit) }
            guard idle >= allowed / 2 else { continue }
            let remaining = allowed - idle
            let asked = ContinuousClock.now
            let answered = (try? await withDeadline(remaining) { await isAlive(remaining) }) ?? false
            try Task.checkCancellation()
            if answered { restartIdleTime(at: asked) }
        }
    }

    private static func step(for limit: Duration) -> Duration { min(.seconds(1), max(.milliseconds(10), limit / 20)) }

    /// Sleeps `step`; when this process woke up much later than asked (it was starved of CPU), the receiver's
    /// answer may have waited on us rather than the other way round, so the extra time is not counted as its idleness.
    private func sleepExcusingOwnDelay(_ step: Duration) async throws {
        let asleep = ContinuousClock.now
        try await Task.sleep(for: step)
        let overslept = ContinuousClock.now - asleep - step
        guard overslept > step else { return }
        state.withLock { state in
            if !state.isWaitingForData { state.since = state.since.advanced(by: overslept) }
        }
    }

    /// The receiver showed it is alive at `instant`: idle time counts from there (unless it has moved on since).
    private func restartIdleTime(at instant: ContinuousClock.Instant) {
        state.withLock { state in
            if !state.isWaitingForData && state.since < instant { state.since = instant }
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
            let chunk = try await base.next()
            watch.handedOver(chunk)
            return chunk
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(base: source.makeAsyncIterator(), watch: watch) }
}
