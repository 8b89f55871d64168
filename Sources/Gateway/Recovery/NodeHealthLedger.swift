import DFSCore

/// The last health each node reported to a probe (free bytes, blob count, capacity, zone), and which nodes refused
/// a copy for lack of space. `GET /nodes` reads it so the dashboard can poll that cheap endpoint instead of
/// `GET /nodes/check`, which probes every node again; placement reads each node's room from it.
actor NodeHealthLedger {
    private var lastHealth: [NodeID: NodeHealth] = [:]
    /// Free bytes a node last reported when it refused a copy for lack of space: it takes no new copies until it
    /// reports more than that.
    private var refusedWithFree: [NodeID: Int64] = [:]

    func record(_ health: NodeHealth, of node: NodeID) {
        lastHealth[node] = health
        if let free = refusedWithFree[node], health.freeBytes > free { refusedWithFree[node] = nil }
    }

    func health(of node: NodeID) -> NodeHealth? {
        lastHealth[node]
    }

    /// `node` answered "no space" (507): no new copies until its reported free space grows.
    func refusedSpace(_ node: NodeID) {
        refusedWithFree[node] = min(lastHealth[node]?.freeBytes ?? 0, refusedWithFree[node] ?? .max)
    }

    /// Every node's room as placement weighs it.
    func rooms() -> [NodeID: NodeRoom] {
        var rooms: [NodeID: NodeRoom] = [:]
        for node in Set(lastHealth.keys).union(refusedWithFree.keys) {
            rooms[node] = NodeRoom(lastHealth[node], refusedSpace: refusedWithFree[node] != nil)
        }
        return rooms
    }
}
