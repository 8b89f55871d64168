/// What `dfs up` does when a member dies without being asked to.
public enum RestartPolicy: String, Sendable, CaseIterable {
    /// Report it and leave it down: in a failover demo the failure is the point.
    case no
    /// Start it again on its port, after a delay that grows while it keeps failing.
    case onFailure = "on-failure"
}

/// How long to wait before restarting a member that failed: 1 s, doubling while it keeps failing soon
/// after each start, at most 30 s; a member that ran for a minute before failing starts over at 1 s.
public struct RestartBackoff: Sendable {
    public var initialDelay: Duration
    public var maximumDelay: Duration
    /// A member that ran at least this long before it failed counts as healthy again.
    public var stableRuntime: Duration
    private var quickFailures: [ClusterMember: Int] = [:]

    public init(
        initialDelay: Duration = .seconds(1), maximumDelay: Duration = .seconds(30), stableRuntime: Duration = .seconds(60)
    ) {
        self.initialDelay = initialDelay
        self.maximumDelay = maximumDelay
        self.stableRuntime = stableRuntime
    }

    /// Records that `member` failed after running `ranFor` and returns the wait before restarting it.
    public mutating func delay(afterFailureOf member: ClusterMember, ranFor: Duration) -> Duration {
        let failures = ranFor >= stableRuntime ? 1 : (quickFailures[member] ?? 0) + 1
        quickFailures[member] = failures
        return delay(forAttempt: failures)
    }

    /// The wait before attempt `attempt` (1 for the first) of a series of restarts.
    public func delay(forAttempt attempt: Int) -> Duration {
        var delay = initialDelay
        for _ in 1..<max(1, attempt) {
            delay *= 2
            if delay >= maximumDelay { return maximumDelay }
        }
        return min(delay, maximumDelay)
    }
}
