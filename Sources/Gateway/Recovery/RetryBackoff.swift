/// When a failed queue item is tried again: `base`·2^retries, capped.
struct RetryBackoff: Sendable, Equatable {
    var base: Duration
    var cap: Duration = .seconds(600)

    /// The wait after the attempt that made `retryCount` failures so far (0 = the first failure).
    func delay(afterFailures retryCount: Int) -> Duration {
        // 2^20·base already exceeds any sensible cap; clamping the exponent keeps the arithmetic finite.
        let factor = Int64(1) << Int64(min(max(retryCount, 0), 20))
        let raw = base * factor
        return raw > cap ? cap : raw
    }

    /// Seconds, for `Date.addingTimeInterval`.
    func seconds(afterFailures retryCount: Int) -> Double {
        let value = delay(afterFailures: retryCount).components
        return Double(value.seconds) + Double(value.attoseconds) / 1e18
    }
}
