import DFSCore

/// Which nodes may serve (confirmed UP by the hysteresis), and which returned nodes still need their inventory
/// reconciled against the metadata. A returning node serves at once: copies it missed are in the queue, deleted
/// files are refused by the metadata before any node is asked, and a lost blob fails over like any failed read;
/// the reconciliation only tidies up afterwards (orphans, deletes it missed, copies it lost), and is put off for a
/// flapping node until it stays.
actor NodeAvailability {
    private var hysteresis: NodeStatusHysteresis
    private var awaitingReconciliation: Set<NodeID> = []
    private let time: MonotonicTime

    init(threshold: Int, damping: NodeStatusHysteresis.Damping = .init(), time: MonotonicTime = .system) {
        hysteresis = NodeStatusHysteresis(threshold: threshold, damping: damping)
        self.time = time
    }

    /// Folds a probe in; returns the confirmed transition and whether the node may be used now.
    func observe(_ node: NodeID, probeSaysUp: Bool) -> (transition: NodeStatusHysteresis.Transition?, isUsable: Bool) {
        let transition = hysteresis.observe(node, probeSaysUp: probeSaysUp, at: time.now)
        switch transition {
        case .cameUp: awaitingReconciliation.insert(node)
        case .wentDown: awaitingReconciliation.remove(node)
        case nil: break
        }
        return (transition, isUsable(node))
    }

    /// The confirmed status, nil for a node never probed.
    func isUp(_ node: NodeID) -> Bool? { hysteresis.isUp(node) }

    func isFlapping(_ node: NodeID) -> Bool { hysteresis.isFlapping(node, at: time.now) }

    /// The node's inventory matches the metadata again.
    func reconciled(_ node: NodeID) {
        awaitingReconciliation.remove(node)
    }

    /// Nodes that are UP, not flapping, and still to be reconciled (a failed reconciliation is retried from here).
    func needingReconciliation() -> [NodeID] {
        let now = time.now
        return awaitingReconciliation.filter { hysteresis.isUp($0) == true && !hysteresis.isFlapping($0, at: now) }.sorted()
    }

    private func isUsable(_ node: NodeID) -> Bool { hysteresis.isUp(node) == true }
}
