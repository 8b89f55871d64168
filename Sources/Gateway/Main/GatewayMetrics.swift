import DFSMetadata
import Foundation
import Prometheus

/// Every metric the gateway exports, declared in one place (STYLE §6), served as Prometheus text at `/metrics`.
/// Labels come from bounded sets only (queue statuses), never a file key.
///
/// This first set is the replication exposure of SPEC §4 "Recovery": how far the cluster is from the
/// replication factor. Request, node and store metrics belong to the operator-surface issue.
final class GatewayMetrics: Sendable {
    let registry: PrometheusCollectorRegistry

    let underReplicatedFiles: Gauge
    let underReplicatedBytes: Gauge
    let oldestMissingCopySeconds: Gauge
    let queueItems: [QueueItemStatus: Gauge]
    let nodesUp: Gauge
    let nodesTotal: Gauge

    init() {
        let registry = PrometheusCollectorRegistry()
        self.registry = registry
        underReplicatedFiles = registry.makeGauge(
            name: "dfs_replication_under_replicated_files", help: "Live files with fewer verified copies than the replication factor.")
        underReplicatedBytes = registry.makeGauge(
            name: "dfs_replication_under_replicated_bytes", help: "Total size of the files below the replication factor.")
        oldestMissingCopySeconds = registry.makeGauge(
            name: "dfs_replication_oldest_missing_copy_seconds", help: "Age of the oldest open repair (0 when none).")
        queueItems = Dictionary(uniqueKeysWithValues: QueueItemStatus.allCases.map { status in
            (status, registry.makeGauge(name: "dfs_queue_items", labels: [("status", status.rawValue)], help: "Replication queue items by status."))
        })
        nodesUp = registry.makeGauge(name: "dfs_nodes_up", help: "Storage nodes the gateway sees UP.")
        nodesTotal = registry.makeGauge(name: "dfs_nodes_total", help: "Storage nodes the gateway knows.")
    }

    /// Refreshes the gauges from the store (called when scraped, so values are never stale) and renders them.
    func render(summary: ReplicationSummary, nodesUp up: Int, nodesTotal total: Int, now: Date) -> String {
        underReplicatedFiles.set(Int64(summary.underReplicatedFiles))
        underReplicatedBytes.set(summary.underReplicatedBytes)
        oldestMissingCopySeconds.set(summary.oldestMissingSince.map { max(0, now.timeIntervalSince($0)) } ?? 0)
        for (status, gauge) in queueItems { gauge.set(Int64(summary.queueCounts[status] ?? 0)) }
        nodesUp.set(Int64(up))
        nodesTotal.set(Int64(total))
        return registry.emitToString()
    }
}
