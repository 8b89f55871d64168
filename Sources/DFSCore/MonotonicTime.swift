/// Where a decision that depends on elapsed time reads the time: the real monotonic clock in the product, a clock
/// moved by hand in tests, so a test of "after five seconds" neither sleeps nor flakes on a loaded machine.
public struct MonotonicTime: Sendable {
    private let read: @Sendable () -> ContinuousClock.Instant

    public init(_ read: @escaping @Sendable () -> ContinuousClock.Instant) { self.read = read }

    public var now: ContinuousClock.Instant { read() }

    public static let system = MonotonicTime { ContinuousClock.now }
}
