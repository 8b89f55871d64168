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
    private(set) var failed: [NodeID] = []
    private(set) var attempts: [String] = []
    private(set) var hedgedTo: NodeID?

    init(ranked: [NodeScore]) { untried = ranked[...] }

    /// The next replica in rank order (a failover, or the first), now counted as running.
    mutating func nextCandidate() -> NodeScore? {
        guard let candidate = untried.popFirst() else { return nil }
        running.append(candidate.id)
        return candidate
    }

    /// A hedge is worth sending only while exactly one request runs, none was hedged yet and a replica is left.
    var mayHedge: Bool { hedgedTo == nil && running.count == 1 && !untried.isEmpty }

    mutating func hedge() -> NodeScore? {
        guard mayHedge, let candidate = nextCandidate() else { return nil }
        hedgedTo = candidate.id
        return candidate
    }

    mutating func finished(_ node: NodeID) { running.removeAll { $0 == node } }

    mutating func recordFailure(_ node: NodeID, reason: String) {
        failed.append(node)
        attempts.append(reason)
    }
}
