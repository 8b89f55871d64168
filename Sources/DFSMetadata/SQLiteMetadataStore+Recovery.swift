import DFSCore
import Foundation
import SQLiteNIO

/// Reconciliation, audit and exposure queries of the SQLite driver.
extension SQLiteMetadataStore {
    public func fileStates(_ keys: [FileKey]) async throws -> [FileKey: FileState] {
        guard !keys.isEmpty else { return [:] }
        return try await serialized {
            var states: [FileKey: FileState] = [:]
            // SQLite allows 32766 bound parameters; pages of 500 stay far below it.
            for start in stride(from: 0, to: keys.count, by: 500) {
                let slice = keys[start..<min(start + 500, keys.count)]
                let placeholders = Array(repeating: "?", count: slice.count).joined(separator: ",")
                let rows = try await self.run(
                    "SELECT file_key, deleted_at FROM files WHERE file_key IN (\(placeholders))", slice.map { .text($0.rawValue) }
                )
                for row in rows {
                    let key = try FileKey(validating: try Self.text(row, "file_key"))
                    states[key] = (row.column("deleted_at")?.string == nil) ? .live : .deleted
                }
            }
            return states
        }
    }

    public func filesExpected(on node: NodeID) async throws -> [FileKey] {
        try await serialized {
            try await self.run(
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
        try await serialized(transaction: true) {
            let live = try await self.run("SELECT 1 FROM files WHERE file_key = ? AND deleted_at IS NULL", [.text(key.rawValue)])
            guard !live.isEmpty else { return false }
            // A copy placement retired is meant to be gone: a download that still tried it does not bring it back.
            let retired = try await self.run(
                "SELECT 1 FROM file_locations WHERE file_key = ? AND node_id = ? AND status = 'DELETED'",
                [.text(key.rawValue), .text(node.rawValue)])
            guard retired.isEmpty else { return false }
            try await self.run(
                """
                INSERT INTO file_locations (file_key, node_id, status, last_verified_at) VALUES (?1, ?2, ?3, ?4)
                ON CONFLICT(file_key, node_id) DO UPDATE SET status = ?3, last_verified_at = ?4
                """,
                [.text(key.rawValue), .text(node.rawValue), .text(status.rawValue), .text(MetadataTime.format(time))])
            try await self.insertQueueItems(
                [NewQueueItem(fileKey: key, targetNodeID: node, sourceNodeID: nil, kind: .replicate, reason: reason)], at: time)
            return true
        }
    }

    public func replicasToAudit(on node: NodeID, limit: Int) async throws -> [FileRecord] {
        try await serialized {
            try await self.run(
                """
                SELECT f.* FROM file_locations l JOIN files f ON f.file_key = l.file_key
                WHERE l.node_id = ? AND l.status = 'ACTIVE' AND f.deleted_at IS NULL
                ORDER BY l.last_verified_at IS NOT NULL, l.last_verified_at, l.file_key LIMIT ?
                """,
                [.text(node.rawValue), .integer(limit)]
            ).map { try Self.fileEntry($0, locations: []).file }
        }
    }

    public func markReplicaVerified(_ key: FileKey, on node: NodeID, at time: Date) async throws {
        _ = try await serialized {
            try await self.run(
                "UPDATE file_locations SET last_verified_at = ? WHERE file_key = ? AND node_id = ? AND status = 'ACTIVE'",
                [.text(MetadataTime.format(time)), .text(key.rawValue), .text(node.rawValue)])
        }
    }

    public func replicationSummary(replicationFactor: Int) async throws -> ReplicationSummary {
        // One read transaction on the snapshot connection: the three counts describe one moment, and writes go on.
        let reader = snapshotConnection
        return try await snapshotLock.withLock {
            _ = try await reader.query("BEGIN", [])
            do {
                let summary = try await Self.summary(on: reader, replicationFactor: replicationFactor)
                _ = try await reader.query("COMMIT", [])
                return summary
            } catch {
                _ = try? await reader.query("ROLLBACK", [])
                throw error
            }
        }
    }

    private static func summary(on reader: SQLiteConnection, replicationFactor: Int) async throws -> ReplicationSummary {
        let under = try await reader.query(
            """
            SELECT COUNT(*) AS files, COALESCE(SUM(size_bytes), 0) AS bytes FROM files f
            WHERE f.deleted_at IS NULL
              AND (SELECT COUNT(*) FROM file_locations l WHERE l.file_key = f.file_key AND l.status = 'ACTIVE') < ?
            """,
            [.integer(replicationFactor)])
        let oldest = try await reader.query(
            "SELECT MIN(created_at) AS oldest FROM replication_queue WHERE kind = 'REPLICATE' AND status IN ('PENDING', 'IN_PROGRESS', 'FAILED')",
            [])
        let counts = try await reader.query("SELECT status, COUNT(*) AS n FROM replication_queue GROUP BY status", [])
        var byStatus = Dictionary(uniqueKeysWithValues: QueueItemStatus.allCases.map { ($0, 0) })
        for row in counts {
            if let status = row.column("status")?.string.flatMap(QueueItemStatus.init(rawValue:)) {
                byStatus[status] = row.column("n")?.integer ?? 0
            }
        }
        return ReplicationSummary(
            underReplicatedFiles: under.first?.column("files")?.integer ?? 0,
            underReplicatedBytes: Int64(under.first?.column("bytes")?.integer ?? 0),
            oldestMissingSince: oldest.first.flatMap { Self.optionalDate($0, "oldest") },
            queueCounts: byStatus)
    }
}
