import DFSClient
import DFSCore
import DFSMetadata
import Foundation
import Logging

/// The result of a delete, in the prototype's terms.
struct DeleteOutcome: Sendable {
    var key: FileKey
    var deletedFrom: [NodeID]
    /// Nodes that could not be reached now: each has a queued DELETE so the file cannot come back.
    var pendingOn: [NodeID]
}

/// Deleting a file: metadata first, then every copy, the unreachable ones queued.
struct FileDeleter: Sendable {
    let store: any MetadataStore
    let nodes: any NodeClient
    let scoreboard: LatencyScoreboard

    func delete(_ key: FileKey, logger: Logger) async throws -> DeleteOutcome {
        guard let entry = try await store.file(key) else { throw FileAccessError.fileNotFound(key) }
        // Every node that holds or may soon hold a copy: recorded locations, plus any node with a live repair item.
        let queued = try await store.queueItems(QueueFilter(limit: 10_000)).filter { $0.fileKey == key && $0.kind == .replicate }
        let holders = Set(entry.locations.filter { $0.status != .deleted }.map(\.nodeID)).union(queued.map(\.targetNodeID))
        var deleted: [NodeID] = []
        var pending: [NodeID] = []
        await withTaskGroup(of: (NodeID, Bool).self) { group in
            for node in holders.sorted() {
                group.addTask {
                    guard let score = await scoreboard.score(of: node), score.isUp else { return (node, false) }
                    do {
                        _ = try await nodes.deleteBlob(key, on: score.endpoint)
                        return (node, true)
                    } catch {
                        logger.warning(
                            "node unreachable during delete; queued",
                            metadata: ["file_key": "\(key)", "node_id": "\(node)", "error": "\(error)"])
                        return (node, false)
                    }
                }
            }
            for await (node, ok) in group {
                if ok { deleted.append(node) } else { pending.append(node) }
            }
        }
        guard try await store.markDeleted(key, removedFrom: deleted, pendingOn: pending, at: Date()) else {
            throw FileAccessError.fileNotFound(key)
        }
        logger.info(
            "deleted file",
            metadata: [
                "file_key": "\(key)", "deleted_from": "\(deleted.sorted().map(\.rawValue))",
                "pending": "\(pending.sorted().map(\.rawValue))",
            ])
        return DeleteOutcome(key: key, deletedFrom: deleted.sorted(), pendingOn: pending.sorted())
    }
}
