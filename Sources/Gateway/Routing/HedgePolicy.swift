import DFSCore

/// When a download asks a second replica too: after the chosen node's usual time to first byte
/// has passed without one. Pure values; the coordinator asks and acts.
struct HedgePolicy: Sendable, Equatable {
    /// Bounds of the hedge delay (`--hedge-after MIN,MAX`): never hedge sooner than `minimumDelay` (a burst
    /// of hedges on a healthy cluster costs more than it saves) nor wait longer than `maximumDelay`.
    var minimumDelay: Duration = .milliseconds(20)
    var maximumDelay: Duration = .milliseconds(500)
    /// The quantile of recent times to first byte after which a request counts as late.
    var quantile = 0.95
    /// Samples a node needs before its own quantile is trusted; below it the pooled one is used.
    var minimumSamples = 20

    /// How long to wait for the chosen node's first byte before asking the next replica.
    ///
    /// The node's own p95 is used unless the pooled p95 of all nodes is lower: a node that stalls on more than
    /// 5% of its requests would otherwise set its hedge delay at the length of its stalls and never be hedged,
    /// though it is exactly the node that needs it. With too few samples anywhere, the maximum is used.
    func delay(node: RollingLatencySamples?, pooled: RollingLatencySamples) -> Duration {
        var candidatesMs: [Double] = []
        if let node, node.count >= minimumSamples, let own = node.quantileMs(quantile) { candidatesMs.append(own) }
        if pooled.count >= minimumSamples, let all = pooled.quantileMs(quantile) { candidatesMs.append(all) }
        guard let chosenMs = candidatesMs.min() else { return maximumDelay }
        return min(max(.microseconds(Int64(chosenMs * 1000)), minimumDelay), maximumDelay)
    }

    /// A replica must be expected to deliver its first byte within this share of the time the late leader has
    /// already kept the download waiting, or it is not hedged to.
    var winRatio = 0.5

    /// The replica to hedge to when the leader has kept the download waiting for `waited`: the first of
    /// `candidates` (rank order) that can be expected to win, nil when none can, and then no budget is spent.
    ///
    /// What the leader still needs is unknown; the wait so far (about its p95) is taken as the estimate. A
    /// replica that typically needs longer than `winRatio` of it would answer after the leader in most races: a
    /// node behind a 50 ms delay hedged to at 20 ms is only one more request in the leader's tail.
    func target(among candidates: [HedgeCandidate], waited: Duration) -> NodeID? {
        let limitMs = winRatio * waited.milliseconds
        return candidates.first { $0.expectedFirstByteMs < limitMs }?.id
    }

    /// The time to first byte a replica is expected to need: the median of its own recent first bytes (when there
    /// are `minimumSamples`) or its current latency average, whichever is higher, so a node that just turned slow
    /// is not judged by an older, faster median; `NodeScore.unmeasuredLatencyMs` when nothing was measured.
    func expectedFirstByteMs(samples: RollingLatencySamples?, latencyMs: Double?) -> Double {
        var estimates: [Double] = []
        if let samples, samples.count >= minimumSamples, let median = samples.quantileMs(0.5) { estimates.append(median) }
        if let latencyMs { estimates.append(latencyMs) }
        return estimates.max() ?? NodeScore.unmeasuredLatencyMs
    }
}

/// A replica the download could hedge to, with the time to first byte it is expected to need.
struct HedgeCandidate: Sendable, Equatable {
    var id: NodeID
    var expectedFirstByteMs: Double
}

/// Caps hedging at a share of downloads (`--hedge-budget`): each download earns `ratio` of a token, a hedge
/// spends a whole one, and at most `burst` tokens are saved up, so over any stretch of traffic the extra requests
/// stay below `ratio` × downloads + `burst`, however slow the cluster gets.
struct HedgeBudget: Sendable, Equatable {
    let ratio: Double
    let burst: Double
    private(set) var tokens: Double

    init(ratio: Double, burst: Double = 10) {
        self.ratio = max(0, ratio)
        self.burst = max(1, burst)
        // Starts empty: a freshly started gateway has no history that justifies extra requests yet.
        self.tokens = 0
    }

    mutating func downloadStarted() { tokens = min(burst, tokens + ratio) }

    /// Spends a token if one is there; false means this request must not hedge.
    mutating func trySpend() -> Bool {
        // The epsilon absorbs the rounding of adding `ratio` up many times (20 × 0.05 may fall just short of 1).
        guard tokens >= 1 - 1e-9 else { return false }
        tokens = max(0, tokens - 1)
        return true
    }
}
