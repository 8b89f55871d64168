import DFSCore
import DFSMetadata

/// The last health each node reported to a probe (free bytes, blob count, capacity, zone), and which nodes refused
/// a copy for lack of space, and each node's lifecycle state. `GET /nodes` reads it so the dashboard can poll that cheap endpoint instead of
/// `GET /nodes/check`, which probes every node again; placement reads each node's room from it.
actor NodeHealthLedger {
    private var lastHealth: [NodeID: NodeHealth] = [:]
    /// Free bytes a node last reported when it refused a copy for lack of space: it takes no new copies until it
    /// reports more than that.
    private var refusedWithFree: [NodeID: Int64] = [:]
    /// States other than ACTIVE, as last read from the metadata or set by this gateway.
    private var states: [NodeID: NodeState] = [:]

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

    func setState(_ state: NodeState, of node: NodeID) {
        states[node] = state == .active ? nil : state
    }

    /// Takes every node's state from the metadata (another gateway may have changed one).
    func setStates(_ records: [NodeRecord]) {
        states = Dictionary(uniqueKeysWithValues: records.filter { $0.state != .active }.map { ($0.id, $0.state) })
    }

    func state(of node: NodeID) -> NodeState { states[node] ?? .active }

    var anyDraining: Bool { states.values.contains(.draining) }

    /// Nodes removed while this gateway runs: their heartbeat registrations are refused, so a removed node whose
    /// process still runs does not join again.
    private var removed: Set<NodeID> = []

    /// A removed node: nothing about it is kept.
    func forget(_ node: NodeID) {
        lastHealth[node] = nil
        refusedWithFree[node] = nil
        states[node] = nil
        removed.insert(node)
    }

    func wasRemoved(_ node: NodeID) -> Bool { removed.contains(node) }

    /// Every node's room as placement weighs it.
    func rooms() -> [NodeID: NodeRoom] {
        var rooms: [NodeID: NodeRoom] = [:]
        for node in Set(lastHealth.keys).union(refusedWithFree.keys).union(states.keys) {
            rooms[node] = NodeRoom(lastHealth[node], refusedSpace: refusedWithFree[node] != nil, state: state(of: node))
        }
        return rooms
    }
}
