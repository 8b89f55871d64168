import DFSCore
import Foundation

/// The shared, live view of every node: endpoint, role, UP/DOWN, latency average, in-flight requests, passive
/// health (ejection) and the recent times to first byte that hedged reads are timed by.
actor LatencyScoreboard {
    private var scores: [NodeID: NodeScore] = [:]
    private var lastSampleAt: [NodeID: ContinuousClock.Instant] = [:]
    private var lastThroughputAt: [NodeID: ContinuousClock.Instant] = [:]
    private var lastSuccessAt: [NodeID: ContinuousClock.Instant] = [:]
    private var firstByteSamples: [NodeID: RollingLatencySamples] = [:]
    private var pooledFirstByteSamples = RollingLatencySamples(capacity: 512)
    private let average: LatencyAverage
    private let selector: NodeSelector
    private let ejectAfter: Int
    private let hedging: HedgePolicy?
    private var hedgeBudget: HedgeBudget
    private var turn = 0
    private var generator = SystemRandomNumberGenerator()
    private let time: MonotonicTime
    private static let throughputHalfLife: Duration = .seconds(30)
    /// Downloads streaming from each node after their first byte; part of every node's in-flight count.
    nonisolated let streaming = InFlightCounts()
    /// Requests opened on each node and not yet judged (`RequestLease`); the rest of its in-flight count.
    nonisolated let requests = InFlightCounts()

    /// - Parameters:
    ///   - ejectAfter: consecutive failed requests that take a node out of selection until a probe succeeds.
    ///   - hedging: when downloads may ask a second replica; nil switches hedged reads off.
    ///   - hedgeBudget: the share of downloads that may be hedged.
    init(
        halfLife: Duration, policy: RoutingPolicy = .latency, ejectAfter: Int = 2, hedging: HedgePolicy? = HedgePolicy(),
        hedgeBudget: Double = 0.05, time: MonotonicTime = .system
    ) {
        self.time = time
        self.selector = NodeSelector(policy: policy)
        self.average = LatencyAverage(halfLife: halfLife)
        self.ejectAfter = max(1, ejectAfter)
        self.hedging = hedging
        self.hedgeBudget = HedgeBudget(ratio: hedgeBudget)
    }

    /// Adds a node or updates its address/role, keeping what was measured.
    func register(_ endpoint: NodeEndpoint, role: NodeRole, isUp: Bool? = nil) {
        if var existing = scores[endpoint.id] {
            existing.endpoint = endpoint
            existing.role = role
            if let isUp { existing.isUp = isUp }
            scores[endpoint.id] = existing
        } else {
            scores[endpoint.id] = NodeScore(
                endpoint: endpoint, role: role, isUp: isUp ?? true, ewmaLatencyMs: nil, inFlight: 0, consecutiveFailures: 0)
        }
    }

    /// A removed node: no longer routed to or probed.
    func remove(_ node: NodeID) {
        scores[node] = nil
        lastSampleAt[node] = nil
        lastThroughputAt[node] = nil
        lastSuccessAt[node] = nil
        firstByteSamples[node] = nil
    }

    func all() -> [NodeScore] { scores.values.map(withStreams).sorted { $0.id < $1.id } }
    func score(of node: NodeID) -> NodeScore? { scores[node].map(withStreams) }

    /// Candidates ranked best first; `among` restricts to those ids (e.g. a file's replicas).
    func ranked(among ids: Set<NodeID>? = nil) -> [NodeScore] {
        let candidates = scores.values.filter { ids?.contains($0.id) ?? true }.map(withStreams)
        turn &+= 1
        return selector.rank(Array(candidates), turn: turn, using: &generator)
    }

    /// A request to `node` starts: it counts as the node's load until the lease is judged or dropped.
    nonisolated func startRequest(on node: NodeID) -> RequestLease {
        RequestLease(on: node, scoreboard: self, counts: requests)
    }

    /// A request (or a check) the node answered: the failure streak ends; `latency`, if given, is a sample.
    func requestSucceeded(on node: NodeID, latency: Duration?) {
        guard var score = scores[node] else { return }
        score.consecutiveFailures = 0
        score.isEjected = false
        lastSuccessAt[node] = time.now
        if let latency { score.ewmaLatencyMs = fold(latency, into: score, node: node) }
        scores[node] = score
    }

    /// A failed request, or a failure seen after one ended (a stream that broke or crawled): counts towards ejection.
    func requestFailed(on node: NodeID) {
        guard var score = scores[node] else { return }
        score.consecutiveFailures += 1
        if score.consecutiveFailures >= ejectAfter { score.isEjected = true }
        scores[node] = score
    }

    /// How long a request we gave up on had not been answered (the losing side of a hedge), folded in as a latency
    /// sample: a lower bound, so a node that keeps losing races stops leading them.
    func waitObserved(on node: NodeID, waited: Duration) {
        guard var score = scores[node] else { return }
        score.ewmaLatencyMs = fold(waited, into: score, node: node)
        scores[node] = score
    }

    /// A health probe's result; returns the previous up state so callers can spot transitions.
    ///
    /// `latency` is nil when the probe got no answer; `isUp` may still be true then (status hysteresis keeps a
    /// node UP until enough probes agree), but only an answer, or a return to UP, re-admits an ejected node.
    @discardableResult
    func probed(_ node: NodeID, isUp: Bool, latency: Duration?) -> Bool? {
        guard var score = scores[node] else { return nil }
        let wasUp = score.isUp
        score.isUp = isUp
        if isUp && (latency != nil || !wasUp) {
            score.consecutiveFailures = 0
            score.isEjected = false
            lastSuccessAt[node] = time.now
            if let latency { score.ewmaLatencyMs = fold(latency, into: score, node: node) }
        }
        scores[node] = score
        return wasUp
    }

    /// Whether the node went DOWN often lately: routing then puts it after the steady ones.
    func markFlapping(_ node: NodeID, _ isFlapping: Bool) { scores[node]?.isFlapping = isFlapping }

    /// How long ago the node last answered anything successfully; nil if never.
    func timeSinceLastSuccess(of node: NodeID) -> Duration? { lastSuccessAt[node].map { time.now - $0 } }

    // MARK: - downloads: first bytes, hedging, throughput

    /// A download's first byte from `node` arrived after `latency`: a sample for the hedge delay.
    func firstByteObserved(on node: NodeID, after latency: Duration) {
        firstByteSamples[node, default: RollingLatencySamples(capacity: 128)].record(latency)
        pooledFirstByteSamples.record(latency)
    }

    /// Called once per download: earns hedge budget and answers how long to wait for `node`'s first byte before
    /// asking another replica; nil when hedging is off.
    func downloadStarting(on node: NodeID) -> Duration? {
        guard let hedging else { return nil }
        hedgeBudget.downloadStarted()
        return hedging.delay(node: firstByteSamples[node], pooled: pooledFirstByteSamples)
    }

    /// The replica a download led by a late node should hedge to now, budget spent; nil when none of `candidates`
    /// (untried replicas, rank order) can be expected to win (`HedgePolicy.target`) or the budget is empty. Only a
    /// hedge actually sent spends a token.
    func claimHedge(after waited: Duration, among candidates: [NodeScore]) -> NodeID? {
        guard let hedging else { return nil }
        let judged = candidates.map { candidate in
            // The scoreboard's view now, not the one the download was ranked with.
            let latencyMs = score(of: candidate.id).flatMap { $0.currentLatencyMs ?? $0.ewmaLatencyMs }
            return HedgeCandidate(
                id: candidate.id,
                expectedFirstByteMs: hedging.expectedFirstByteMs(samples: firstByteSamples[candidate.id], latencyMs: latencyMs))
        }
        guard let target = hedging.target(among: judged, waited: waited), hedgeBudget.trySpend() else { return nil }
        return target
    }

    /// Hedge tokens saved up (for tests).
    var hedgeTokens: Double { hedgeBudget.tokens }

    /// A measured stretch of `node` delivering at `bytesPerSecond` (source wait time only, not the client's).
    func throughputObserved(on node: NodeID, bytesPerSecond: Double) {
        guard var score = scores[node], bytesPerSecond.isFinite, bytesPerSecond > 0 else { return }
        let now = time.now
        let elapsed = lastThroughputAt[node].map { now - $0 } ?? .zero
        lastThroughputAt[node] = now
        // Plain time decay over a long half-life, not peak-sensitive: the yardstick a slow source is judged by
        // should follow the node's lasting speed, not one burst or one bad stretch.
        let weightOfOld =
            score.throughputBytesPerSecond == nil ? 0 : pow(0.5, elapsed.inSeconds / Self.throughputHalfLife.inSeconds)
        score.throughputBytesPerSecond = (score.throughputBytesPerSecond ?? 0) * weightOfOld + bytesPerSecond * (1 - weightOfOld)
        scores[node] = score
    }

    /// The score as routing sees it now: requests being opened plus responses still streaming, and the latency
    /// average decayed for the time since its last sample.
    private func withStreams(_ score: NodeScore) -> NodeScore {
        var counted = score
        counted.inFlight = requests.count(on: score.id) + streaming.count(on: score.id)
        if let latency = score.ewmaLatencyMs, let sampledAt = lastSampleAt[score.id] {
            counted.currentLatencyMs = average.decayed(latency, elapsed: time.now - sampledAt)
        }
        return counted
    }

    private func fold(_ latency: Duration, into score: NodeScore, node: NodeID) -> Double {
        let now = time.now
        let elapsed = lastSampleAt[node].map { now - $0 } ?? .zero
        lastSampleAt[node] = now
        return average.updated(previous: score.ewmaLatencyMs, sample: latency.milliseconds, elapsed: elapsed)
    }
}
