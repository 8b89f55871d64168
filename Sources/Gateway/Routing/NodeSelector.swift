import DFSCore

/// Orders candidate nodes for a request: pure, so it is tested with plain values and a seeded generator.
///
/// The best-cost node leads, except that among near-ties (within `nearTieRatio` of the best) two are drawn
/// at random and the less loaded leads (a coin decides equal load) — power of two choices, so equally fast
/// nodes share the work instead of the marginally fastest taking all of it. Flapping nodes follow the steady ones,
/// in the same order among themselves; nodes that are DOWN or ejected (passive health) come last whatever the
/// policy: worth a try only when nothing else is left.
struct NodeSelector: Sendable {
    var nearTieRatio: Double = 1.25
    var policy: RoutingPolicy = .latency

    /// Orders `candidates` by `policy`; selectable nodes always come before the last-resort ones. `turn` drives round-robin.
    func rank(_ candidates: [NodeScore], turn: Int, using generator: inout some RandomNumberGenerator) -> [NodeScore] {
        let steady = candidates.filter { !$0.isSelectable || !$0.isFlapping }
        let flapping = candidates.filter { $0.isSelectable && $0.isFlapping }
        guard !flapping.isEmpty else { return rankSteady(candidates, turn: turn, using: &generator) }
        let lastResort = Self.lastResort(candidates)
        let ahead = rankSteady(steady, turn: turn, using: &generator).filter(\.isSelectable)
        return ahead + rankSteady(flapping, turn: turn, using: &generator) + lastResort
    }

    private func rankSteady(
        _ candidates: [NodeScore], turn: Int, using generator: inout some RandomNumberGenerator
    )
        -> [NodeScore]
    {
        switch policy {
        case .latency:
            return rank(candidates, using: &generator)
        case .roundRobin, .random:
            let usable = candidates.filter(\.isSelectable).sorted { $0.id < $1.id }
            let lastResort = Self.lastResort(candidates)
            guard !usable.isEmpty else { return lastResort }
            if policy == .random { return usable.shuffled(using: &generator) + lastResort }
            let start = turn % usable.count
            return Array(usable[start...] + usable[..<start]) + lastResort
        }
    }

    func rank(_ candidates: [NodeScore], using generator: inout some RandomNumberGenerator) -> [NodeScore] {
        let usable = candidates.filter(\.isSelectable).sorted { ($0.cost, $0.id) < ($1.cost, $1.id) }
        let lastResort = Self.lastResort(candidates)
        guard let best = usable.first else { return lastResort }
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
        return ordered + lastResort
    }

    /// Ejected-but-UP nodes before DOWN ones (an ejected node still answered probes), each group by id.
    private static func lastResort(_ candidates: [NodeScore]) -> [NodeScore] {
        let ejected = candidates.filter { $0.isUp && $0.isEjected }.sorted { $0.id < $1.id }
        let down = candidates.filter { !$0.isUp }.sorted { $0.id < $1.id }
        return ejected + down
    }
}
