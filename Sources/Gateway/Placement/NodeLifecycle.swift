import DFSCore
import DFSMetadata
import DFSServer
import Foundation

/// The operator's node lifecycle (SPEC §10): drain, activate and remove. States live in the metadata, so every
/// gateway sharing it sees them (at its next rebalancing pass); this gateway's placement sees them at once.
struct NodeLifecycle: Sendable {
    let store: any MetadataStore
    let scoreboard: LatencyScoreboard
    let ledger: NodeHealthLedger
    let replicationFactor: Int

    /// `node` takes no new copies; the rebalancer re-makes its copies elsewhere, then it becomes DRAINED. Refused
    /// when too few ACTIVE nodes would remain to hold every copy.
    func drain(_ node: NodeID) async throws -> NodeRecord {
        let records = try await store.nodes()
        guard let record = records.first(where: { $0.id == node }) else { throw NodeNotFound(id: node.rawValue) }
        guard record.state == .active else { return record }
        let othersActive = records.filter { $0.id != node && $0.state == .active }.count
        guard othersActive >= replicationFactor else {
            throw APIError(
                status: .conflict, code: "too_few_nodes",
                message:
                    "draining \(node) would leave \(othersActive) active node(s) for \(replicationFactor) copies of each file; "
                    + "add a node first")
        }
        return try await set(node, to: .draining)
    }

    /// Undoes a drain: `node` takes new copies again (copies it still holds count again).
    func activate(_ node: NodeID) async throws -> NodeRecord {
        _ = try await existing(node)
        return try await set(node, to: .active)
    }

    /// Forgets `node`. Refused unless it is DRAINED, or `force`: then the copies it held no longer count, and the
    /// rebalancer re-makes them from the other copies.
    func remove(_ node: NodeID, force: Bool) async throws {
        let record = try await existing(node)
        guard record.state == .drained || force else {
            throw APIError(
                status: .conflict, code: "node_not_drained",
                message:
                    "\(node) is \(record.state.rawValue): drain it first (POST /nodes/\(node)/drain) and wait for DRAINED, "
                    + "or remove it with ?force=true (its copies are then re-made from the others)")
        }
        // Marked removed before its row goes: a heartbeat registering meanwhile then sees the mark after writing the
        // row and takes it out again (GatewayRoutes.registerNode), instead of bringing the node back.
        await ledger.forget(node)
        guard try await store.removeNode(node, at: Date()) else { throw NodeNotFound(id: node.rawValue) }
        await scoreboard.remove(node)
    }

    private func existing(_ node: NodeID) async throws -> NodeRecord {
        guard let record = try await store.nodes().first(where: { $0.id == node }) else {
            throw NodeNotFound(id: node.rawValue)
        }
        return record
    }

    private func set(_ node: NodeID, to state: NodeState) async throws -> NodeRecord {
        guard try await store.setNodeState(node, to: state) else { throw NodeNotFound(id: node.rawValue) }
        await ledger.setState(state, of: node)
        return try await existing(node)
    }
}
