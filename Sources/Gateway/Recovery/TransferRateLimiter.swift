import DFSClient
import DFSCore
import NIOCore

/// A token bucket shared by every repair stream (`--recovery-rate`), so recovery never takes the whole link
/// from client traffic. `bytesPerSecond == nil` means unlimited.
actor TransferRateLimiter {
    private let bytesPerSecond: Double?
    private var available: Double
    private var lastRefill: ContinuousClock.Instant
    private let time: MonotonicTime
    /// One second of burst: enough to keep a chunked stream smooth without letting it exceed the cap for long.
    private var capacity: Double { bytesPerSecond ?? 0 }

    init(bytesPerSecond: Int64?, time: MonotonicTime = .system) {
        self.bytesPerSecond = bytesPerSecond.map(Double.init)
        self.available = bytesPerSecond.map(Double.init) ?? 0
        self.time = time
        self.lastRefill = time.now
    }

    var isLimited: Bool { bytesPerSecond != nil }

    /// Waits until `count` bytes may pass. Takes the tokens at once (possibly going negative), then sleeps off
    /// the debt, so a chunk larger than the bucket still passes at the capped rate.
    func acquire(_ count: Int) async throws {
        let wait = reserve(count)
        if wait > .zero { try await Task.sleep(for: wait) }
    }

    /// Takes `count` bytes' tokens now; returns how long the caller must wait before sending them.
    func reserve(_ count: Int) -> Duration {
        guard let rate = bytesPerSecond else { return .zero }
        let now = time.now
        let elapsed = now - lastRefill
        lastRefill = now
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        available = min(capacity, available + seconds * rate)
        available -= Double(count)
        return available < 0 ? .milliseconds(Int64((-available / rate) * 1000)) : .zero
    }

    /// `stream`, paced by this bucket.
    nonisolated func throttle(_ stream: AnyByteStream) -> AnyByteStream {
        AnyByteStream(ThrottledStream(base: stream, limiter: self))
    }
}

private struct ThrottledStream: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let base: AnyByteStream
    let limiter: TransferRateLimiter

    func makeAsyncIterator() -> Iterator { Iterator(base: base.makeAsyncIterator(), limiter: limiter) }

    struct Iterator: AsyncIteratorProtocol {
        var base: AnyByteStream.AsyncIterator
        let limiter: TransferRateLimiter
        mutating func next() async throws -> ByteBuffer? {
            guard let chunk = try await base.next() else { return nil }
            try await limiter.acquire(chunk.readableBytes)
            return chunk
        }
    }
}
