import DFSClient
import DFSCore
import DFSMetadata
import Foundation
import Logging
import ServiceLifecycle

/// One node's probe result.
struct ProbeResult: Sendable {
    var node: NodeEndpoint
    /// What this probe saw.
    var isUp: Bool
    /// Whether the node may serve after this probe: confirmed UP by the hysteresis.
    var isUsable = false
    var latency: Duration?
    var health: NodeHealth?
    var error: String?
}

/// Probes every node's `/health` with `--health-timeout`, feeds the scoreboard, records UP/DOWN in metadata,
/// and tells the repairer when a node comes back; nodes left out of routing are probed more often (`probeExcluded`).
struct HealthProber: Sendable {
    let store: any MetadataStore
    let nodes: any NodeClient
    let scoreboard: LatencyScoreboard
    let availability: NodeAvailability
    let timeout: Duration
    let logger: Logger
    /// What each node said in its last answered probe, so `GET /nodes` can show free space without probing.
    let lastHealth = NodeHealthLedger()

    /// Probes all nodes concurrently; returns the results and the ids that just turned DOWN→UP.
    func probeAll() async -> (results: [ProbeResult], cameBack: [NodeID]) {
        await probe(await scoreboard.all().map(\.endpoint), onlyAnswersCount: false)
    }

    /// Probes only the nodes routing leaves out (DOWN, or ejected after failed requests), so one that answers again
    /// is back within a short probe instead of a full probe interval. Here only an answer counts: a node still UP
    /// but ejected is not pushed towards DOWN by these extra probes, which would make a short outage look like
    /// flapping.
    /// An ejected node that answers comes back too (without a DOWN→UP transition): uploads meanwhile queued its
    /// copies, and they are due now.
    func probeExcluded() async -> (results: [ProbeResult], cameBack: [NodeID]) {
        let excluded = await scoreboard.all().filter { !$0.isUp || $0.isEjected }
        guard !excluded.isEmpty else { return ([], []) }
        var (results, cameBack) = await probe(excluded.map(\.endpoint), onlyAnswersCount: true)
        let ejected = Set(excluded.filter { $0.isUp && $0.isEjected }.map(\.id))
        for result in results where result.isUp && ejected.contains(result.node.id) && !cameBack.contains(result.node.id) {
            cameBack.append(result.node.id)
        }
        return (results, cameBack)
    }

    private func probe(
        _ endpoints: [NodeEndpoint], onlyAnswersCount: Bool
    ) async -> (
        results: [ProbeResult], cameBack: [NodeID]
    ) {
        var results: [ProbeResult] = []
        await withTaskGroup(of: ProbeResult.self) { group in
            for endpoint in endpoints {
                group.addTask { await probe(endpoint) }
            }
            for await result in group { results.append(result) }
        }
        var cameBack: [NodeID] = []
        var judged: [ProbeResult] = []
        for var result in results.sorted(by: { $0.node.id < $1.node.id }) {
            if onlyAnswersCount && !result.isUp {
                result.isUsable = await availability.isUp(result.node.id) == true
                judged.append(result)
                continue
            }
            let (transition, isUsable) = await availability.observe(result.node.id, probeSaysUp: result.isUp)
            result.isUsable = isUsable
            judged.append(result)
            if let health = result.health { await lastHealth.record(health, of: result.node.id) }
            await scoreboard.probed(result.node.id, isUp: isUsable, latency: result.isUp ? result.latency : nil)
            await scoreboard.markFlapping(result.node.id, await availability.isFlapping(result.node.id))
            switch transition {
            case .cameUp:
                logger.info("node is UP", metadata: ["node_id": "\(result.node.id)"])
                cameBack.append(result.node.id)
            case .wentDown:
                logger.warning("node is DOWN", metadata: ["node_id": "\(result.node.id)", "error": "\(result.error ?? "")"])
            case nil: break
            }
            let latencyMs = await scoreboard.score(of: result.node.id)?.ewmaLatencyMs
            do {
                try await store.recordProbe(
                    of: result.node.id, status: isUsable ? .up : .down, latencyMs: result.isUp ? latencyMs : nil, at: Date())
            } catch {
                logger.error("could not record a probe", metadata: ["node_id": "\(result.node.id)", "error": "\(error)"])
            }
        }
        return (judged, cameBack)
    }

    /// Notes that a returned node's inventory now matches the metadata.
    func markReconciled(_ node: NodeID) async {
        await availability.reconciled(node)
    }

    func probe(_ node: NodeEndpoint) async -> ProbeResult {
        let started = ContinuousClock.now
        do {
            let health = try await nodes.health(of: node, timeout: timeout)
            return ProbeResult(
                node: node, isUp: health.status == "UP", latency: ContinuousClock.now - started, health: health, error: nil)
        } catch {
            return ProbeResult(node: node, isUp: false, latency: nil, health: nil, error: "\(error)")
        }
    }
}
