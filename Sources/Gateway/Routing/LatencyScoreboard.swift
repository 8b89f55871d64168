import DFSCore
import Foundation

/// The shared, live view of every node: endpoint, role, UP/DOWN, latency average, in-flight requests.
actor LatencyScoreboard {
    private var scores: [NodeID: NodeScore] = [:]
    private var lastSampleAt: [NodeID: ContinuousClock.Instant] = [:]
    private let average: LatencyAverage
    private let selector: NodeSelector
    private var turn = 0
    private var generator = SystemRandomNumberGenerator()
    private let clock = ContinuousClock()

    init(halfLife: Duration, policy: RoutingPolicy = .latency) {
        self.selector = NodeSelector(policy: policy)
        self.average = LatencyAverage(halfLife: halfLife)
    }

    /// Adds a node or updates its address/role, keeping what was measured.
    func register(_ endpoint: NodeEndpoint, role: NodeRole, isUp: Bool? = nil) {
        if var existing = scores[endpoint.id] {
            existing.endpoint = endpoint
            existing.role = role
            if let isUp { existing.isUp = isUp }
            scores[endpoint.id] = existing
        } else {
            scores[endpoint.id] = NodeScore(endpoint: endpoint, role: role, isUp: isUp ?? true, ewmaLatencyMs: nil, inFlight: 0, consecutiveFailures: 0)
        }
    }

    func all() -> [NodeScore] { scores.values.sorted { $0.id < $1.id } }
    func score(of node: NodeID) -> NodeScore? { scores[node] }

    /// Candidates ranked best first; `among` restricts to those ids (e.g. a file's replicas).
    func ranked(among ids: Set<NodeID>? = nil) -> [NodeScore] {
        let candidates = scores.values.filter { ids?.contains($0.id) ?? true }
        turn &+= 1
        return selector.rank(Array(candidates), turn: turn, using: &generator)
    }

    func requestStarted(on node: NodeID) { scores[node]?.inFlight += 1 }

    func requestFinished(on node: NodeID, latency: Duration?, failed: Bool) {
        guard var score = scores[node] else { return }
        score.inFlight = max(0, score.inFlight - 1)
        if failed {
            score.consecutiveFailures += 1
        } else {
            score.consecutiveFailures = 0
            if let latency { score.ewmaLatencyMs = fold(latency, into: score, node: node) }
        }
        scores[node] = score
    }

    /// A health probe's result; returns the previous up state so callers can spot transitions.
    @discardableResult
    func probed(_ node: NodeID, isUp: Bool, latency: Duration?) -> Bool? {
        guard var score = scores[node] else { return nil }
        let wasUp = score.isUp
        score.isUp = isUp
        if isUp {
            score.consecutiveFailures = 0
            if let latency { score.ewmaLatencyMs = fold(latency, into: score, node: node) }
        }
        scores[node] = score
        return wasUp
    }

    private func fold(_ latency: Duration, into score: NodeScore, node: NodeID) -> Double {
        let now = clock.now
        let elapsed = lastSampleAt[node].map { now - $0 } ?? .zero
        lastSampleAt[node] = now
        return average.updated(previous: score.ewmaLatencyMs, sample: latency.milliseconds, elapsed: elapsed)
    }
}

extension Duration {
    var milliseconds: Double {
        Double(components.seconds) * 1000 + Double(components.attoseconds) / 1e15
    }
}
