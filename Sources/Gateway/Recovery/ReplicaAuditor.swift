import DFSClient
import DFSCore
import DFSMetadata
import Foundation
import Logging

/// What one audit pass found, over all nodes.
struct AuditReport: Sendable, Equatable {
    var nodesAudited = 0
    var replicasChecked = 0
    var corrupt = 0
    var missing = 0
    var removedOrphans = 0
    var removedDeleted = 0
}

/// The bit-rot audit (issue 3, item 5). Per serving node: reconcile its inventory with the metadata (orphans
/// past the grace period and deleted files' blobs go, absent copies are queued), then re-read and re-hash its
/// least recently verified replicas, paced by `rateLimiter`. A copy whose bytes differ becomes CORRUPT, one
/// the node no longer has MISSING, each with a repair item; a good one gets a fresh `last_verified_at`.
///
/// The gateway does the hashing from a streamed read, so nodes need no audit endpoint of their own; the
/// price is that the audited bytes cross the network, which `--audit-rate` bounds.
struct ReplicaAuditor: Sendable {
    let store: any MetadataStore
    let nodes: any NodeClient
    let scoreboard: LatencyScoreboard
    let reconciler: NodeReconciler
    let rateLimiter: TransferRateLimiter
    /// Replicas re-hashed per node per pass, stalest first.
    let batchSize: Int
    let logger: Logger
    /// Audit progress: replicas checked and found damaged, when the last pass finished.
    var metrics: GatewayMetrics? = nil

    func auditAll() async -> AuditReport {
        var report = AuditReport()
        for score in await scoreboard.all() where score.isUp {
            do {
                try await audit(score.endpoint, into: &report)
                report.nodesAudited += 1
            } catch {
                logger.warning("audit of a node stopped early", metadata: ["node_id": "\(score.id)", "error": "\(error)"])
            }
        }
        metrics?.auditLastCompletedTime.set(Date().timeIntervalSince1970)
        logger.info("audit pass finished", metadata: [
            "nodes": "\(report.nodesAudited)", "checked": "\(report.replicasChecked)", "corrupt": "\(report.corrupt)",
            "missing": "\(report.missing)", "removed_orphans": "\(report.removedOrphans)", "removed_deleted": "\(report.removedDeleted)",
        ])
        return report
    }

    private func audit(_ node: NodeEndpoint, into report: inout AuditReport) async throws {
        let reconciliation = try await reconciler.reconcile(node)
        report.removedOrphans += reconciliation.removedOrphans
        report.removedDeleted += reconciliation.removedDeleted
        report.missing += reconciliation.queuedMissing
        for file in try await store.replicasToAudit(on: node.id, limit: batchSize) {
            report.replicasChecked += 1
            metrics?.auditedReplicaCount.increment()
            switch try await rehash(file, on: node) {
            case .matches:
                try await store.markReplicaVerified(file.key, on: node.id, at: Date())
            case .differs(let actual):
                if try await store.markReplicaLost(file.key, on: node.id, status: .corrupt, reason: "audit: digest \(actual.hex) differs", at: Date()) {
                    report.corrupt += 1
                    metrics?.auditDamagedReplicaCount.increment()
                    logger.error("audit found a corrupt replica; queued for repair", metadata: ["file_key": "\(file.key)", "node_id": "\(node.id)"])
                }
            case .absent:
                if try await store.markReplicaLost(file.key, on: node.id, status: .missing, reason: "audit: blob missing", at: Date()) {
                    report.missing += 1
                    metrics?.auditDamagedReplicaCount.increment()
                    logger.warning("audit found a missing replica; queued for repair", metadata: ["file_key": "\(file.key)", "node_id": "\(node.id)"])
                }
            }
        }
    }

    private enum Rehash {
        case matches
        case differs(SHA256Digest)
        case absent
    }

    private func rehash(_ file: FileRecord, on node: NodeEndpoint) async throws -> Rehash {
        let opened: BlobReadStream
        do {
            opened = try await nodes.getBlob(file.key, from: node, range: nil)
        } catch NodeRequestError.blobNotFound {
            return .absent
        }
        var hasher = StreamingSHA256()
        for try await chunk in rateLimiter.throttle(opened.body) { hasher.update(chunk) }
        let digest = hasher.finalize()
        return digest == file.checksum && hasher.byteCount == file.sizeBytes ? .matches : .differs(digest)
    }
}
