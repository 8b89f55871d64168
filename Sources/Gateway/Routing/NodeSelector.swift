import DFSCore

/// Orders candidate nodes for a request: pure, so it is tested with plain values and a seeded generator.
///
/// The best-cost node leads, except that among near-ties (within `nearTieRatio` of the best) two are drawn
/// at random and the less loaded leads (a coin decides equal load) — power of two choices, so equally fast
/// nodes share the work instead of the marginally fastest taking all of it.
struct NodeSelector: Sendable {
    var nearTieRatio: Double = 1.25
    var policy: RoutingPolicy = .latency

    /// Orders `candidates` by `policy`; UP nodes always come before DOWN ones. `turn` drives round-robin.
    func rank(_ candidates: [NodeScore], turn: Int, using generator: inout some RandomNumberGenerator) -> [NodeScore] {
        switch policy {
        case .latency:
            return rank(candidates, using: &generator)
        case .roundRobin, .random:
            let up = candidates.filter(\.isUp).sorted { $0.id < $1.id }
            let down = candidates.filter { !$0.isUp }.sorted { $0.id < $1.id }
            guard !up.isEmpty else { return down }
            if policy == .random { return up.shuffled(using: &generator) + down }
            let start = turn % up.count
            return Array(up[start...] + up[..<start]) + down
        }
    }

    func rank(_ candidates: [NodeScore], using generator: inout some RandomNumberGenerator) -> [NodeScore] {
        let usable = candidates.filter(\.isUp).sorted { ($0.cost, $0.id) < ($1.cost, $1.id) }
        let downAtEnd = candidates.filter { !$0.isUp }.sorted { $0.id < $1.id }
        guard let best = usable.first else { return downAtEnd }
        let nearTies = usable.filter { $0.cost <= best.cost * nearTieRatio }
        var ordered = usable
        if nearTies.count >= 2 {
            let first = nearTies.randomElement(using: &generator)!
            var second = nearTies.randomElement(using: &generator)!
            while second.id == first.id { second = nearTies.randomElement(using: &generator)! }
            let leader: NodeScore
            if first.inFlight != second.inFlight {
                leader = first.inFlight < second.inFlight ? first : second
            } else {
                leader = Bool.random(using: &generator) ? first : second
            }
            ordered.removeAll { $0.id == leader.id }
            ordered.insert(leader, at: 0)
        }
        // Down nodes last: worth a try only when nothing else is left (a probe may be stale).
        return ordered + downAtEnd
    }
}
