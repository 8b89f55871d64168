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

/// The bit-rot audit. Per serving node: reconcile its inventory with the metadata (orphans past the grace period and
/// deleted files' blobs go, absent copies are queued), then have the node re-read and re-hash its least recently
/// verified replicas block by block against the SHA-256 and block root recorded at upload, paced by `rateLimiter`
/// (the bytes of each replica are counted before it is checked). A copy whose bytes differ becomes CORRUPT (the log
/// and the queue item name its damaged blocks), one the node no longer has MISSING, each with a repair item; a good
/// one gets a fresh `last_verified_at`.
///
/// The node does the hashing where the bytes are, so audited bytes do not cross the network. A replica written
/// before block digests existed has them computed by this check (once its SHA-256 matched), and the file's block
/// root is recorded then.
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
        logger.info(
            "audit pass finished",
            metadata: [
                "nodes": "\(report.nodesAudited)", "checked": "\(report.replicasChecked)", "corrupt": "\(report.corrupt)",
                "missing": "\(report.missing)", "removed_orphans": "\(report.removedOrphans)",
                "removed_deleted": "\(report.removedDeleted)",
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
            switch try await recheck(file, on: node) {
            case .matches:
                try await store.markReplicaVerified(file.key, on: node.id, at: Date())
            case .differs(let problem):
                if try await store.markReplicaLost(
                    file.key, on: node.id, status: .corrupt, reason: "audit: \(problem)", at: Date())
                {
                    report.corrupt += 1
                    metrics?.auditDamagedReplicaCount.increment()
                    logger.error(
                        "audit found a corrupt replica; queued for repair",
                        metadata: [
                            "file_key": "\(file.key)", "node_id": "\(node.id)", "reason": "\(problem)",
                        ])
                }
            case .absent:
                if try await store.markReplicaLost(
                    file.key, on: node.id, status: .missing, reason: "audit: blob missing", at: Date())
                {
                    report.missing += 1
                    metrics?.auditDamagedReplicaCount.increment()
                    logger.warning(
                        "audit found a missing replica; queued for repair",
                        metadata: ["file_key": "\(file.key)", "node_id": "\(node.id)"])
                }
            }
        }
    }

    private enum Recheck {
        case matches
        /// What is wrong, naming the damaged blocks when the node knows them.
        case differs(String)
        case absent
    }

    private func recheck(_ file: FileRecord, on node: NodeEndpoint) async throws -> Recheck {
        try await rateLimiter.acquire(Int(clamping: file.sizeBytes))
        let verification: BlobVerification
        do {
            verification = try await nodes.verifyBlob(file.key, on: node, expecting: file.expectation)
        } catch NodeRequestError.blobNotFound {
            return .absent
        }
        guard verification.intact, verification.sizeBytes == file.sizeBytes else {
            return .differs(verification.problem ?? "holds \(verification.sizeBytes) bytes, expected \(file.sizeBytes)")
        }
        if let root = verification.blockRoot.flatMap(SHA256Digest.init(hex:)), file.blockRoot == nil {
            if try await store.recordBlockRoot(file.key, root: root) {
                logger.info(
                    "recorded the block digests of an older file", metadata: ["file_key": "\(file.key)", "node_id": "\(node.id)"])
            }
        }
        return .matches
    }
}
