import DFSCore
import Foundation

// The same operations as SQLiteMetadataStore+Operations, in MySQL's dialect. Two differences matter:
// MySQL evaluates `UPDATE … SET a = …, b = …` left to right with the new value of `a` visible to `b`,
// so assignments that read a column come before the one that changes it; and placeholders are positional
// only, so a value used twice is bound twice.
extension MySQLMetadataStore {
    // MARK: - nodes

    public func registerNode(id: NodeID, address: String, role: NodeRole) async throws {
        try await withConnection { connection in
            try connection.update(
                """
                INSERT INTO nodes (id, address, status, role) VALUES (?, ?, 'DOWN', ?)
                ON DUPLICATE KEY UPDATE address = VALUES(address), role = VALUES(role)
                """,
                [.text(id.rawValue), .text(address), .text(role.rawValue)])
        }
    }

    public func nodes() async throws -> [NodeRecord] {
        try await withConnection { connection in
            try connection.query("SELECT * FROM nodes ORDER BY id").map(Self.nodeRecord)
        }
    }

    public func setNodeState(_ node: NodeID, to state: NodeState) async throws -> Bool {
        try await withConnection { connection in
            try connection.update("UPDATE nodes SET state = ? WHERE id = ?", [.text(state.rawValue), .text(node.rawValue)])
            return try !connection.query("SELECT 1 FROM nodes WHERE id = ?", [.text(node.rawValue)]).isEmpty
        }
    }

    public func removeNode(_ node: NodeID, at time: Date) async throws -> Bool {
        let id = MySQLValue.text(node.rawValue)
        return try await withConnection(transaction: true) { connection in
            guard try !connection.query("SELECT 1 FROM nodes WHERE id = ? FOR UPDATE", [id]).isEmpty else { return false }
            try connection.update(
                """
                UPDATE replication_queue SET status = 'CANCELLED', completed_at = ?, error_message = 'node removed'
                WHERE target_node_id = ? AND status IN ('PENDING', 'IN_PROGRESS', 'FAILED')
                """,
                [Self.time(time), id])
            try connection.update("DELETE FROM file_locations WHERE node_id = ?", [id])
            try connection.update("DELETE FROM nodes WHERE id = ?", [id])
            return true
        }
    }

    public func heldFiles(on node: NodeID, after: FileKey?, limit: Int) async throws -> [HeldFile] {
        try await withConnection { connection in
            let keys = try connection.query(
                """
                SELECT l.file_key FROM file_locations l JOIN files f ON f.file_key = l.file_key
                WHERE l.node_id = ? AND l.status = 'ACTIVE' AND l.file_key > ? AND f.deleted_at IS NULL
                ORDER BY l.file_key LIMIT ?
                """,
                [.text(node.rawValue), .text(after?.rawValue ?? ""), .int(Int64(max(1, min(limit, 500))))]
            ).map { try Self.text($0, "file_key") }
            guard !keys.isEmpty else { return [] }
            let placeholders = Array(repeating: "?", count: keys.count).joined(separator: ",")
            let binds = keys.map { MySQLValue.text($0) }
            var locations: [String: [FileLocation]] = [:]
            for row in try connection.query(
                """
                SELECT file_key, node_id, status, last_verified_at FROM file_locations WHERE file_key IN (\(placeholders))
                ORDER BY node_id
                """, binds)
            {
                locations[try Self.text(row, "file_key"), default: []].append(try Self.fileLocation(row))
            }
            var coming: [String: Set<NodeID>] = [:]
            for row in try connection.query(
                """
                SELECT file_key, target_node_id FROM replication_queue WHERE file_key IN (\(placeholders))
                AND kind = 'REPLICATE' AND status IN ('PENDING', 'IN_PROGRESS')
                """, binds)
            {
                coming[try Self.text(row, "file_key"), default: []].insert(
                    try NodeID(validating: try Self.text(row, "target_node_id")))
            }
            return try connection.query("SELECT * FROM files WHERE file_key IN (\(placeholders)) ORDER BY file_key", binds).map {
                row in
                let key = try Self.text(row, "file_key")
                return HeldFile(entry: try Self.fileEntry(row, locations: locations[key] ?? []), comingTo: coming[key] ?? [])
            }
        }
    }

    public func retireCopy(_ key: FileKey, on node: NodeID, keepingAtLeast: Int) async throws -> Bool {
        try await withConnection(transaction: true) { connection in
            // Locking the file's location rows serialises gateways retiring copies of the same file.
            let rows = try connection.query(
                "SELECT node_id, status FROM file_locations WHERE file_key = ? FOR UPDATE", [.text(key.rawValue)])
            let others = try rows.filter { try Self.text($0, "node_id") != node.rawValue && Self.text($0, "status") == "ACTIVE" }
            guard others.count >= keepingAtLeast else { return false }
            try connection.update(
                "UPDATE file_locations SET status = 'DELETED' WHERE file_key = ? AND node_id = ?",
                [.text(key.rawValue), .text(node.rawValue)])
            return true
        }
    }

    public func moveCopy(_ key: FileKey, to target: NodeID, from source: NodeID, verifiedAt: Date) async throws -> Bool {
        try await withConnection(transaction: true) { connection in
            try connection.update(
                """
                INSERT INTO file_locations (file_key, node_id, status, last_verified_at) VALUES (?, ?, 'ACTIVE', ?)
                ON DUPLICATE KEY UPDATE status = 'ACTIVE', last_verified_at = VALUES(last_verified_at)
                """,
                [.text(key.rawValue), .text(target.rawValue), Self.time(verifiedAt)])
            let retired = try connection.update(
                "UPDATE file_locations SET status = 'DELETED' WHERE file_key = ? AND node_id = ? AND status = 'ACTIVE'",
                [.text(key.rawValue), .text(source.rawValue)])
            return retired > 0
        }
    }

    public func activeLocationCount(on node: NodeID) async throws -> Int {
        try await withConnection { connection in
            let rows = try connection.query(
                """
                SELECT COUNT(*) AS n FROM file_locations l JOIN files f ON f.file_key = l.file_key
                WHERE l.node_id = ? AND l.status = 'ACTIVE' AND f.deleted_at IS NULL
                """,
                [.text(node.rawValue)])
            return rows.first?["n"].flatMap { Int($0) } ?? 0
        }
    }

    public func recordProbe(of node: NodeID, status: NodeStatus, latencyMs: Double?, at time: Date) async throws {
        let now = Self.time(time)
        let status = MySQLValue.text(status.rawValue)
        try await withConnection { connection in
            try connection.update(
                """
                UPDATE nodes SET
                    status_changed_at = CASE WHEN status <> ? OR status_changed_at IS NULL THEN ? ELSE status_changed_at END,
                    status = ?,
                    latency_ms = COALESCE(?, latency_ms),
                    last_heartbeat = CASE WHEN ? = 'UP' THEN ? ELSE last_heartbeat END
                WHERE id = ?
                """,
                [status, now, status, latencyMs.map { .double($0) } ?? .null, status, now, .text(node.rawValue)])
        }
    }

    // MARK: - files

    public func recordUpload(_ file: FileRecord, verifiedOn nodes: [NodeID], verifiedAt: Date, queue: [NewQueueItem]) async throws
    {
        try await uploadCommits.submit(
            UploadRecord(file: file, nodes: nodes, verifiedAt: verifiedAt, queue: queue),
            committingWith: { [self] uploads in await self.commitUploads(uploads) })
    }

    /// Records a batch of uploads in one transaction, each in its own savepoint so a taken key fails that upload
    /// alone. Should the batch's transaction fail as a whole (a deadlock with another gateway rolls it all back),
    /// each upload is recorded again in a transaction of its own, so one conflict never fails its neighbours.
    private func commitUploads(_ uploads: [UploadRecord]) async -> [Result<Void, any Error>] {
        if uploads.count > 1 {
            let batched = try? await withConnection(transaction: true) { connection in
                try uploads.map { upload -> Result<Void, any Error> in
                    try connection.execute("SAVEPOINT upload")
                    do {
                        try Self.insert(upload, on: connection)
                        try connection.execute("RELEASE SAVEPOINT upload")
                        return .success(())
                    } catch let error as MetadataError {
                        try connection.execute("ROLLBACK TO SAVEPOINT upload")
                        return .failure(error)
                    } catch let error as MySQLError where error.isDuplicateKey {
                        try connection.execute("ROLLBACK TO SAVEPOINT upload")
                        return .failure(MetadataError.fileAlreadyExists(upload.file.key))
                    }
                }
            }
            if let batched { return batched }
        }
        var outcomes: [Result<Void, any Error>] = []
        for upload in uploads {
            do {
                try await withConnection(transaction: true) { connection in try Self.insert(upload, on: connection) }
                outcomes.append(.success(()))
            } catch let error as MySQLError where error.isDuplicateKey {
                // Two gateways raced past the locking read (gap locks differ by isolation level): the key is taken.
                outcomes.append(.failure(MetadataError.fileAlreadyExists(upload.file.key)))
            } catch {
                outcomes.append(.failure(error))
            }
        }
        return outcomes
    }

    static func insert(_ upload: UploadRecord, on connection: MySQLConnection) throws {
        let file = upload.file
        let verified = Self.time(upload.verifiedAt)
        // Locking read: a concurrent upload of the same key on another gateway waits here, then sees it.
        let existing = try connection.query("SELECT 1 FROM files WHERE file_key = ? FOR UPDATE", [.text(file.key.rawValue)])
        if !existing.isEmpty { throw MetadataError.fileAlreadyExists(file.key) }
        try connection.update(
            """
            INSERT INTO files (file_key, original_filename, size_bytes, checksum_sha256, uploaded_at, block_root, s3_bucket,
                s3_object_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                .text(file.key.rawValue), .text(file.originalFilename), .int(file.sizeBytes), .text(file.checksum.hex),
                Self.time(file.uploadedAt), file.blockRoot.map { .text($0.hex) } ?? .null,
                file.s3Object.map { .text($0.bucket) } ?? .null, file.s3Object.map { .text($0.key) } ?? .null,
            ])
        for node in upload.nodes {
            try connection.update(
                "INSERT INTO file_locations (file_key, node_id, status, last_verified_at) VALUES (?, ?, 'ACTIVE', ?)",
                [.text(file.key.rawValue), .text(node.rawValue), verified])
        }
        try Self.insertQueueItems(upload.queue, at: upload.verifiedAt, on: connection)
    }

    public func file(_ key: FileKey) async throws -> FileEntry? {
        try await withConnection { connection in
            guard
                let row = try connection.query(
                    "SELECT * FROM files WHERE file_key = ? AND deleted_at IS NULL", [.text(key.rawValue)]
                ).first
            else {
                return nil
            }
            let locations = try connection.query(
                "SELECT node_id, status, last_verified_at FROM file_locations WHERE file_key = ? ORDER BY node_id",
                [.text(key.rawValue)])
            return try Self.fileEntry(row, locations: locations.map(Self.fileLocation))
        }
    }

    public func listFiles(limit: Int, before: Int64?, matching: FileNameSearch?, scanSpan: Int64) async throws -> FilePage {
        try await withConnection { connection in
            var sql = "SELECT * FROM files WHERE deleted_at IS NULL AND seq < ?"
            var binds: [MySQLValue] = [.int(before ?? Int64.max)]
            var scanFloor: Int64? = nil
            if let matching {
                // MariaDB has no substring index: every row is read, so a page reads at most `scanSpan` sequence
                // numbers.
                let top: Int64
                if let before {
                    top = before
                } else {
                    top =
                        (try connection.query("SELECT MAX(seq) AS newest FROM files").first?["newest"]).flatMap { Int64($0) }
                        .map { $0 + 1 } ?? 1
                }
                let floor = top - scanSpan
                scanFloor = floor > 0 ? floor : nil
                sql += " AND seq >= ?"
                binds += [.int(max(floor, 0))]
                // file_key is binary (LOWER would leave it alone) and a _ci collation would also equate accents:
                // compare Unicode-lowercased text byte for byte, as FileNameSearch does.
                sql += """
                     AND (INSTR(LOWER(CONVERT(file_key USING utf8mb4)) COLLATE utf8mb4_bin, ?) > 0
                      OR INSTR(LOWER(CONVERT(original_filename USING utf8mb4)) COLLATE utf8mb4_bin, ?) > 0)
                    """
                binds += [.text(matching.folded), .text(matching.folded)]
            }
            let rows = try connection.query(sql + " ORDER BY seq DESC LIMIT ?", binds + [.int(Int64(limit + 1))])
            guard !rows.isEmpty else { return FilePage(entries: [], nextBefore: scanFloor) }
            let keys = rows.compactMap { $0["file_key"] }
            // Only the number of placeholders varies; the keys themselves are bound.
            let placeholders = Array(repeating: "?", count: keys.count).joined(separator: ",")
            let locationRows = try connection.query(
                "SELECT file_key, node_id, status, last_verified_at FROM file_locations WHERE file_key IN (\(placeholders)) ORDER BY node_id",
                keys.map { .text($0) })
            var byKey: [String: [FileLocation]] = [:]
            for row in locationRows {
                byKey[row["file_key"] ?? "", default: []].append(try Self.fileLocation(row))
            }
            let entries = try rows.map { row in try Self.fileEntry(row, locations: byKey[row["file_key"] ?? ""] ?? []) }
            return FilePage.fromRows(entries, limit: limit, scanFloor: scanFloor)
        }
    }

    public func markDeleted(_ key: FileKey, removedFrom: [NodeID], pendingOn: [NodeID], at time: Date) async throws -> Bool {
        let now = Self.time(time)
        return try await withConnection(transaction: true) { connection in
            let live = try connection.query(
                "SELECT 1 FROM files WHERE file_key = ? AND deleted_at IS NULL FOR UPDATE", [.text(key.rawValue)])
            guard !live.isEmpty else { return false }
            try connection.update("UPDATE files SET deleted_at = ? WHERE file_key = ?", [now, .text(key.rawValue)])
            try connection.update("UPDATE file_locations SET status = 'DELETED' WHERE file_key = ?", [.text(key.rawValue)])
            try connection.update(
                """
                UPDATE replication_queue SET status = 'CANCELLED', completed_at = ?, error_message = 'file deleted'
                WHERE file_key = ? AND kind = 'REPLICATE' AND status IN ('PENDING', 'IN_PROGRESS', 'FAILED')
                """,
                [now, .text(key.rawValue)])
            try Self.insertQueueItems(
                pendingOn.map {
                    NewQueueItem(
                        fileKey: key, targetNodeID: $0, sourceNodeID: nil, kind: .delete, reason: "removal from this node pending"
                    )
                },
                at: time, on: connection)
            return true
        }
    }

    public func completeDeletes(of key: FileKey, on nodes: [NodeID], at time: Date) async throws {
        guard !nodes.isEmpty else { return }
        let placeholders = nodes.map { _ in "?" }.joined(separator: ", ")
        try await withConnection { connection in
            _ = try connection.update(
                """
                UPDATE replication_queue SET status = 'COMPLETED', completed_at = ?, error_message = NULL
                WHERE file_key = ? AND kind = 'DELETE' AND status = 'PENDING' AND target_node_id IN (\(placeholders))
                """,
                [Self.time(time), .text(key.rawValue)] + nodes.map { .text($0.rawValue) })
        }
    }

    public func recordBlockRoot(_ key: FileKey, root: SHA256Digest) async throws -> Bool {
        try await withConnection { connection in
            try connection.update(
                "UPDATE files SET block_root = ? WHERE file_key = ? AND deleted_at IS NULL AND block_root IS NULL",
                [.text(root.hex), .text(key.rawValue)]) == 1
        }
    }

    public func recordLocation(_ key: FileKey, on node: NodeID, status: LocationStatus, verifiedAt: Date?) async throws {
        try await withConnection { connection in
            try connection.update(
                """
                INSERT INTO file_locations (file_key, node_id, status, last_verified_at) VALUES (?, ?, ?, ?)
                ON DUPLICATE KEY UPDATE status = VALUES(status), last_verified_at = COALESCE(VALUES(last_verified_at), last_verified_at)
                """,
                [.text(key.rawValue), .text(node.rawValue), .text(status.rawValue), verifiedAt.map(Self.time) ?? .null])
        }
    }

    // MARK: - queue

    public func queueItems(_ filter: QueueFilter) async throws -> [QueueItem] {
        try await withConnection { connection in
            var conditions: [String] = []
            var binds: [MySQLValue] = []
            if let status = filter.status {
                conditions.append("status = ?")
                binds.append(.text(status.rawValue))
            }
            if let node = filter.targetNodeID {
                conditions.append("target_node_id = ?")
                binds.append(.text(node.rawValue))
            }
            let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
            binds.append(.int(Int64(filter.limit)))
            return try connection.query("SELECT * FROM replication_queue \(whereClause) ORDER BY id LIMIT ?", binds).map(
                Self.queueItem)
        }
    }

    public func enqueue(_ items: [NewQueueItem], at time: Date) async throws {
        try await withConnection(transaction: true) { connection in try Self.insertQueueItems(items, at: time, on: connection) }
    }

    static func insertQueueItems(_ items: [NewQueueItem], at time: Date, on connection: MySQLConnection) throws {
        for item in items {
            // The no-op update keeps an identical live item as is (the live-item unique key), like SQLite's
            // OR IGNORE, without IGNORE's habit of turning every other error into a warning.
            try connection.update(
                """
                INSERT INTO replication_queue (file_key, target_node_id, source_node_id, kind, status, created_at, error_message)
                VALUES (?, ?, ?, ?, 'PENDING', ?, ?) ON DUPLICATE KEY UPDATE id = id
                """,
                [
                    .text(item.fileKey.rawValue), .text(item.targetNodeID.rawValue),
                    item.sourceNodeID.map { .text($0.rawValue) } ?? .null,
                    .text(item.kind.rawValue), Self.time(time), item.reason.map { .text($0) } ?? .null,
                ])
        }
    }

    public func claimQueueItems(
        for node: NodeID, owner: String, includeFailed: Bool, now: Date, leaseUntil: Date, limit: Int
    ) async throws -> [QueueItem] {
        let nowValue = Self.time(now)
        return try await withConnection(transaction: true) { connection in
            let statuses = includeFailed ? "('PENDING', 'FAILED')" : "('PENDING')"
            let dueCondition = includeFailed ? "" : "AND (q.next_attempt_at IS NULL OR q.next_attempt_at <= ?)"
            var binds: [MySQLValue] = [.text(node.rawValue)]
            if !includeFailed { binds.append(nowValue) }
            binds.append(.int(Int64(limit)))
            // SKIP LOCKED: rows another gateway is claiming right now are passed over, not waited for, so two
            // claimers never get the same item and never block each other. Fewest verified copies first.
            let rows = try connection.query(
                """
                SELECT q.id FROM replication_queue q
                WHERE q.target_node_id = ? AND q.status IN \(statuses) \(dueCondition)
                ORDER BY (SELECT COUNT(*) FROM file_locations l WHERE l.file_key = q.file_key AND l.status = 'ACTIVE'), q.id
                LIMIT ?
                FOR UPDATE SKIP LOCKED
                """,
                binds)
            var claimed: [QueueItem] = []
            for id in rows.compactMap({ $0["id"].flatMap { Int64($0) } }) {
                // retry_count is reset before status changes: a FAILED item retried by hand starts a fresh series.
                try connection.update(
                    """
                    UPDATE replication_queue SET retry_count = CASE WHEN status = 'FAILED' THEN 0 ELSE retry_count END,
                        status = 'IN_PROGRESS', lease_owner = ?, lease_expires_at = ?, last_attempt = ?
                    WHERE id = ?
                    """,
                    [.text(owner), Self.time(leaseUntil), nowValue, .int(id)])
                claimed += try connection.query("SELECT * FROM replication_queue WHERE id = ?", [.int(id)]).map(Self.queueItem)
            }
            return claimed
        }
    }

    public func renewClaims(_ ids: [Int64], owner: String, leaseUntil: Date) async throws -> Int {
        guard !ids.isEmpty else { return 0 }
        let placeholders = Array(repeating: "?", count: ids.count).joined(separator: ",")
        return try await withConnection { connection in
            // Connections use CLIENT_FOUND_ROWS, so a lease renewed to the same instant still counts as held.
            try connection.update(
                "UPDATE replication_queue SET lease_expires_at = ? WHERE status = 'IN_PROGRESS' AND lease_owner = ? AND id IN (\(placeholders))",
                [Self.time(leaseUntil), .text(owner)] + ids.map { .int($0) })
        }
    }

    public func completeQueueItem(_ id: Int64, owner: String, at time: Date) async throws -> Bool {
        try await withConnection { connection in
            try connection.update(
                """
                UPDATE replication_queue SET status = 'COMPLETED', completed_at = ?, error_message = NULL, lease_owner = NULL, lease_expires_at = NULL
                WHERE id = ? AND status = 'IN_PROGRESS' AND lease_owner = ? AND lease_expires_at > ?
                """,
                [Self.time(time), .int(id), .text(owner), Self.time(time)]) == 1
        }
    }

    public func failQueueItem(
        _ id: Int64, owner: String, error: String, at time: Date, retryAt: Date, maxRetries: Int
    ) async throws -> Bool {
        try await withConnection { connection in
            try connection.update(
                """
                UPDATE replication_queue SET
                    status = CASE WHEN retry_count + 1 >= ? THEN 'FAILED' ELSE 'PENDING' END,
                    retry_count = retry_count + 1,
                    error_message = ?, last_attempt = ?, next_attempt_at = ?, lease_owner = NULL, lease_expires_at = NULL
                WHERE id = ? AND status = 'IN_PROGRESS' AND lease_owner = ? AND lease_expires_at > ?
                """,
                [
                    .int(Int64(maxRetries)), .text(String(error.prefix(1000))), Self.time(time), Self.time(retryAt), .int(id),
                    .text(owner), Self.time(time),
                ]) == 1
        }
    }

    public func releaseExpiredClaims(now: Date) async throws -> Int {
        try await withConnection { connection in
            try connection.update(
                """
                UPDATE replication_queue SET status = 'PENDING', lease_owner = NULL, lease_expires_at = NULL
                WHERE status = 'IN_PROGRESS' AND lease_expires_at <= ?
                """,
                [Self.time(now)])
        }
    }
}
