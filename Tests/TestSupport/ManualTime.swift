import DFSCore
import Synchronization

/// A clock that stands still until a test moves it.
public final class ManualTime: Sendable {
    private let current: Mutex<ContinuousClock.Instant>

    public init(startingAt start: ContinuousClock.Instant = .now) { current = Mutex(start) }

    public var now: ContinuousClock.Instant { current.withLock { $0 } }

    public func advance(by step: Duration) { current.withLock { $0 += step } }

    /// This clock as the time source a decision reads.
    public var source: MonotonicTime { MonotonicTime { self.now } }
}
