import DFSCore
import Foundation

/// Reconciliation, audit and exposure queries of the MySQL driver (the SQLite driver's, in MySQL's dialect).
extension MySQLMetadataStore {
    public func fileStates(_ keys: [FileKey]) async throws -> [FileKey: FileState] {
        guard !keys.isEmpty else { return [:] }
        return try await withConnection { connection in
            var states: [FileKey: FileState] = [:]
            for start in stride(from: 0, to: keys.count, by: 500) {
                let slice = keys[start..<min(start + 500, keys.count)]
                let placeholders = Array(repeating: "?", count: slice.count).joined(separator: ",")
                let rows = try connection.query(
                    "SELECT file_key, deleted_at FROM files WHERE file_key IN (\(placeholders))", slice.map { .text($0.rawValue) }
                )
                for row in rows {
                    let key = try FileKey(validating: try Self.text(row, "file_key"))
                    states[key] = row["deleted_at"] == nil ? .live : .deleted
                }
            }
            return states
        }
    }

    public func filesExpected(on node: NodeID) async throws -> [FileKey] {
        try await withConnection { connection in
            try connection.query(
                """
                SELECT l.file_key FROM file_locations l JOIN files f ON f.file_key = l.file_key
                WHERE l.node_id = ? AND l.status = 'ACTIVE' AND f.deleted_at IS NULL ORDER BY l.file_key
                """,
                [.text(node.rawValue)]
            ).map { try FileKey(validating: try Self.text($0, "file_key")) }
        }
    }

    public func markReplicaLost(
        _ key: FileKey, on node: NodeID, status: LocationStatus, reason: String, at time: Date
    ) async throws -> Bool {
        let now = Self.time(time)
        return try await withConnection(transaction: true) { connection in
            let live = try connection.query(
                "SELECT 1 FROM files WHERE file_key = ? AND deleted_at IS NULL FOR UPDATE", [.text(key.rawValue)])
            guard !live.isEmpty else { return false }
            // A copy placement retired is meant to be gone: a download that still tried it does not bring it back.
            let retired = try connection.query(
                "SELECT 1 FROM file_locations WHERE file_key = ? AND node_id = ? AND status = 'DELETED' FOR UPDATE",
                [.text(key.rawValue), .text(node.rawValue)])
            guard retired.isEmpty else { return false }
            try connection.update(
                """
                INSERT INTO file_locations (file_key, node_id, status, last_verified_at) VALUES (?, ?, ?, ?)
                ON DUPLICATE KEY UPDATE status = VALUES(status), last_verified_at = VALUES(last_verified_at)
                """,
                [.text(key.rawValue), .text(node.rawValue), .text(status.rawValue), now])
            try Self.insertQueueItems(
                [NewQueueItem(fileKey: key, targetNodeID: node, sourceNodeID: nil, kind: .replicate, reason: reason)], at: time,
                on: connection)
            return true
        }
    }

    public func replicasToAudit(on node: NodeID, limit: Int) async throws -> [FileRecord] {
        try await withConnection { connection in
            try connection.query(
                """
                SELECT f.* FROM file_locations l JOIN files f ON f.file_key = l.file_key
                WHERE l.node_id = ? AND l.status = 'ACTIVE' AND f.deleted_at IS NULL
                ORDER BY l.last_verified_at IS NOT NULL, l.last_verified_at, l.file_key LIMIT ?
                """,
                [.text(node.rawValue), .int(Int64(limit))]
            ).map { try Self.fileEntry($0, locations: []).file }
        }
    }

    public func markReplicaVerified(_ key: FileKey, on node: NodeID, at time: Date) async throws {
        let now = Self.time(time)
        _ = try await withConnection { connection in
            try connection.update(
                "UPDATE file_locations SET last_verified_at = ? WHERE file_key = ? AND node_id = ? AND status = 'ACTIVE'",
                [now, .text(key.rawValue), .text(node.rawValue)])
        }
    }

    public func replicationSummary(replicationFactor: Int) async throws -> ReplicationSummary {
        try await withConnection { connection in
            let under = try connection.query(
                """
                SELECT COUNT(*) AS files, COALESCE(SUM(size_bytes), 0) AS bytes FROM files f
                WHERE f.deleted_at IS NULL
                  AND (SELECT COUNT(*) FROM file_locations l WHERE l.file_key = f.file_key AND l.status = 'ACTIVE') < ?
                """,
                [.int(Int64(replicationFactor))])
            let oldest = try connection.query(
                "SELECT MIN(created_at) AS oldest FROM replication_queue WHERE kind = 'REPLICATE' AND status IN ('PENDING', 'IN_PROGRESS', 'FAILED')"
            )
            let counts = try connection.query("SELECT status, COUNT(*) AS n FROM replication_queue GROUP BY status")
            var byStatus = Dictionary(uniqueKeysWithValues: QueueItemStatus.allCases.map { ($0, 0) })
            for row in counts {
                if let status = row["status"].flatMap(QueueItemStatus.init(rawValue:)) {
                    byStatus[status] = Int(row["n"] ?? "0") ?? 0
                }
            }
            return ReplicationSummary(
                underReplicatedFiles: Int(under.first?["files"] ?? "0") ?? 0,
                underReplicatedBytes: Int64(under.first?["bytes"] ?? "0") ?? 0,
                oldestMissingSince: oldest.first.flatMap { Self.optionalDate($0, "oldest") },
                queueCounts: byStatus)
        }
    }
}
