import DFSCore

/// The last health each node reported to a probe (free bytes, blob count). `GET /nodes` reads it so the
/// dashboard can poll that cheap endpoint instead of `GET /nodes/check`, which probes every node again.
actor NodeHealthLedger {
    private var lastHealth: [NodeID: NodeHealth] = [:]

    func record(_ health: NodeHealth, of node: NodeID) {
        lastHealth[node] = health
    }

    func health(of node: NodeID) -> NodeHealth? {
        lastHealth[node]
    }
}
