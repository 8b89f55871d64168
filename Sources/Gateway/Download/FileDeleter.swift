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

/// The delete flow: the file is deleted in the metadata first, then removed from every node that answers in time;
/// the others keep a queued DELETE, so a returning node can never bring the file back.
struct FileDeleter: Sendable {
    let store: any MetadataStore
    let nodes: any NodeClient
    let scoreboard: LatencyScoreboard
    /// How long each node's removal may take before it is left to the queue: a hung node must not hold the answer.
    var nodeDeadline: Duration = .seconds(2)

    func delete(_ key: FileKey, logger: Logger) async throws -> DeleteOutcome {
        guard let entry = try await store.file(key) else { throw FileAccessError.fileNotFound(key) }
        // Every node that holds or may soon hold a copy: recorded locations, plus any node with a live repair item.
        let queued = try await store.queueItems(QueueFilter(limit: 10_000)).filter { $0.fileKey == key && $0.kind == .replicate }
        let holders = Set(entry.locations.filter { $0.status != .deleted }.map(\.nodeID)).union(queued.map(\.targetNodeID))
            .sorted()
        // Gone from the metadata before any copy goes: a download from now on answers 404, never a 503 from nodes
        // that already removed theirs. Each holder keeps a queued DELETE until its copy is known to be gone.
        guard try await store.markDeleted(key, removedFrom: [], pendingOn: holders, at: Date()) else {
            throw FileAccessError.fileNotFound(key)
        }
        var deleted: [NodeID] = []
        var pending: [NodeID] = []
        let nodes = self.nodes
        let deadline = nodeDeadline
        await withTaskGroup(of: (NodeID, Bool).self) { group in
            for node in holders {
                group.addTask {
                    guard let score = await scoreboard.score(of: node), score.isUp else { return (node, false) }
                    do {
                        _ = try await withDeadline(deadline) { try await nodes.deleteBlob(key, on: score.endpoint) }
                        return (node, true)
                    } catch {
                        logger.warning(
                            "node did not remove its copy in time; the delete stays queued",
                            metadata: ["file_key": "\(key)", "node_id": "\(node)", "error": "\(error)"])
                        return (node, false)
                    }
                }
            }
            for await (node, ok) in group {
                if ok { deleted.append(node) } else { pending.append(node) }
            }
        }
        do {
            try await store.completeDeletes(of: key, on: deleted, at: Date())
        } catch {
            // The queued items then remove copies that are already gone: harmless.
            logger.warning(
                "could not record the removals; their queued deletes will run again",
                metadata: ["file_key": "\(key)", "error": "\(error)"])
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
