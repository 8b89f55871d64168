import DFSCore

/// The bookkeeping of one download's search for a first byte: which replicas are untried, running, failed, and
/// whether the one hedge was taken. A plain value; `DownloadCoordinator` performs what it decides.
struct FirstByteRace {
    enum Event: Sendable {
        case opened(NodeScore, OpenedReplica)
        case failed(NodeScore, any Error)
        /// The hedge delay passed.
        case hedgeDue
    }

    private var untried: ArraySlice<NodeScore>
    private(set) var running: [NodeID] = []
    /// When each running request was sent.
    private(set) var startedAt: [NodeID: ContinuousClock.Instant] = [:]
    private(set) var failed: [NodeID] = []
    /// Of `failed`, the replicas whose node refused because a block at the start was damaged: their later blocks may
    /// still be intact, so they stay last-resort sources for the rest of the body.
    private(set) var damagedAtStart: [NodeID] = []
    private(set) var attempts: [String] = []
    private(set) var hedgedTo: NodeID?

    init(ranked: [NodeScore]) { untried = ranked[...] }

    /// The next replica in rank order (a failover, or the first), now counted as running.
    mutating func nextCandidate() -> NodeScore? {
        guard let candidate = untried.popFirst() else { return nil }
        running.append(candidate.id)
        startedAt[candidate.id] = .now
        return candidate
    }

    /// A hedge is worth sending only while exactly one request runs, none was hedged yet and a replica is left.
    var mayHedge: Bool { hedgedTo == nil && running.count == 1 && !untried.isEmpty }

    /// The replicas not asked yet, in rank order: what a hedge may choose from.
    var hedgeCandidates: [NodeScore] { mayHedge ? Array(untried) : [] }

    /// Starts the hedge to `node` (one of `hedgeCandidates`); the replicas passed over stay for failover.
    mutating func hedge(to node: NodeID) -> NodeScore? {
        guard mayHedge, let index = untried.firstIndex(where: { $0.id == node }) else { return nil }
        let candidate = untried.remove(at: index)
        running.append(candidate.id)
        startedAt[candidate.id] = .now
        hedgedTo = candidate.id
        return candidate
    }

    mutating func finished(_ node: NodeID) { running.removeAll { $0 == node } }

    mutating func recordFailure(_ node: NodeID, reason: String, copyDamaged: Bool = false) {
        failed.append(node)
        attempts.append(reason)
        if copyDamaged { damagedAtStart.append(node) }
    }
}
