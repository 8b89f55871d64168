import DFSClient
import DFSCore
import DFSMetadata
import Foundation
import Logging

/// What one reconciliation of a node did.
struct ReconciliationReport: Sendable, Equatable {
    var listed = 0
    var removedDeleted = 0
    var removedOrphans = 0
    var queuedMissing = 0
}

/// Brings a node's disk in line with the metadata before it is used again: blobs of deleted files and old
/// orphans are removed, and copies it should hold but lacks are marked MISSING and queued for repair.
struct NodeReconciler: Sendable {
    let store: any MetadataStore
    let nodes: any NodeClient
    let orphanGrace: Duration
    let pageSize: Int
    let logger: Logger

    func reconcile(_ node: NodeEndpoint) async throws -> ReconciliationReport {
        // Read what the node should hold *before* listing it: every key recorded ACTIVE by then was on its disk
        // before the listing began, so absence from the listing really means lost, not "written meanwhile".
        let expected = try await store.filesExpected(on: node.id)
        var present = Set<String>()
        var report = ReconciliationReport()
        var cursor: String? = nil
        repeat {
            let page = try await nodes.inventory(of: node, after: cursor, limit: pageSize)
            cursor = page.nextAfter
            report.listed += page.blobs.count
            let keyed = page.blobs.compactMap { entry in (try? FileKey(validating: entry.key)).map { ($0, entry) } }
            let states = try await store.fileStates(keyed.map(\.0))
            let now = Date()
            for (key, entry) in keyed {
                present.insert(entry.key)
                switch InventoryVerdict.judge(
                    state: states[key], modifiedAt: entry.modifiedAt, now: now, orphanGrace: orphanGrace)
                {
                case .keep, .spareYoungOrphan: continue
                case .removeDeleted:
                    _ = try await nodes.deleteBlob(key, on: node)
                    report.removedDeleted += 1
                    logger.info(
                        "removed deleted file \(key) from returning \(node.id)",
                        metadata: ["file_key": "\(key)", "node_id": "\(node.id)"])
                case .removeOrphan:
                    _ = try await nodes.deleteBlob(key, on: node)
                    report.removedOrphans += 1
                    logger.info(
                        "removed orphan blob \(key) from \(node.id)",
                        metadata: ["file_key": "\(key)", "node_id": "\(node.id)", "bytes": "\(entry.sizeBytes)"])
                }
            }
        } while cursor != nil
        for key in expected where !present.contains(key.rawValue) {
            if try await store.markReplicaLost(
                key, on: node.id, status: .missing, reason: "missing from \(node.id) at reconciliation", at: Date())
            {
                report.queuedMissing += 1
                logger.warning("replica missing; queued for repair", metadata: ["file_key": "\(key)", "node_id": "\(node.id)"])
            }
        }
        return report
    }
}
