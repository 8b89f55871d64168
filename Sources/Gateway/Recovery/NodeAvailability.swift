import DFSCore

/// Which nodes may serve: confirmed UP by the hysteresis and, if they came back from DOWN, reconciled since.
actor NodeAvailability {
    private var hysteresis: NodeStatusHysteresis
    private var awaitingReconciliation: Set<NodeID> = []

    init(threshold: Int) {
        hysteresis = NodeStatusHysteresis(threshold: threshold)
    }

    /// Folds a probe in; returns the confirmed transition and whether the node may be used now.
    func observe(_ node: NodeID, probeSaysUp: Bool) -> (transition: NodeStatusHysteresis.Transition?, isUsable: Bool) {
        let transition = hysteresis.observe(node, probeSaysUp: probeSaysUp)
        switch transition {
        case .cameUp: awaitingReconciliation.insert(node)
        case .wentDown: awaitingReconciliation.remove(node)
        case nil: break
        }
        return (transition, isUsable(node))
    }

    /// The node's inventory matches the metadata again: it may serve.
    func reconciled(_ node: NodeID) -> Bool {
        awaitingReconciliation.remove(node)
        return isUsable(node)
    }

    /// Nodes that are UP but still to be reconciled (a failed reconciliation is retried from here).
    func needingReconciliation() -> [NodeID] {
        awaitingReconciliation.filter { hysteresis.isUp($0) == true }.sorted()
    }

    private func isUsable(_ node: NodeID) -> Bool {
        hysteresis.isUp(node) == true && !awaitingReconciliation.contains(node)
    }
}
