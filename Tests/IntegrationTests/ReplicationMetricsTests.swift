import Foundation
import Testing
import TestSupport

/// Recovery exposure: `/metrics` (Prometheus text) shows how far the cluster is from the replication
/// factor, and the numbers move with the cluster's state.
@Suite("Replication exposure in /metrics", .serialized)
struct ReplicationMetricsTests {
    /// `name{labels} value` lines → value, keyed by the text before the value.
    func samples(_ text: String) -> [String: Double] {
        var values: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            values[String(line[..<space])] = value
        }
        return values
    }

    @Test("files below the factor, their bytes, the oldest missing copy and the queue by status are exported and move")
    func replicationGauges() async throws {
        try await withCluster(nodes: 3, gatewayArguments: ["--recovery-interval", "1h", "--probe-interval", "300ms"]) { cluster in
            let healthy = samples(try await cluster.gateway.get("/metrics").expectingSuccess().text)
            #expect(healthy["dfs_replication_under_replicated_files"] == 0)
            #expect(healthy["dfs_nodes_total"] == 3)
            #expect(healthy["dfs_queue_items{status=\"PENDING\"}"] == 0)

            await cluster.stopNode(2)
            _ = try await cluster.gateway.uploadRaw(randomBytes(12_345), filename: "m.bin").expectingSuccess()
            let degraded = samples(try await cluster.gateway.get("/metrics").expectingSuccess().text)
            #expect(degraded["dfs_replication_under_replicated_files"] == 1)
            #expect(degraded["dfs_replication_under_replicated_bytes"] == 12_345)
            #expect(degraded["dfs_queue_items{status=\"PENDING\"}"] == 1)
            #expect((degraded["dfs_replication_oldest_missing_copy_seconds"] ?? -1) >= 0)

            try await cluster.startNode(2)
            _ = try await cluster.gateway.post("/nodes/node-2/recover").expectingSuccess()
            try await eventually("the copy is back and the exposure is zero") {
                let healed = samples(try await cluster.gateway.get("/metrics").expectingSuccess().text)
                return healed["dfs_replication_under_replicated_files"] == 0
                    && healed["dfs_queue_items{status=\"COMPLETED\"}"] == 1
            }
        }
    }
}
