import DFSCore
import Foundation
import SQLiteNIO

extension SQLiteMetadataStore {
    // MARK: - nodes

    public func registerNode(id: NodeID, address: String, role: NodeRole) async throws {
        try await serialized {
            try await self.run(
                """
                INSERT INTO nodes (id, address, status, role) VALUES (?, ?, 'DOWN', ?)
                ON CONFLICT(id) DO UPDATE SET address = excluded.address, role = excluded.role
                """,
                [.text(id.rawValue), .text(address), .text(role.rawValue)])
        }
    }

    public func nodes() async throws -> [NodeRecord] {
        try await serialized {
            try await self.run("SELECT * FROM nodes ORDER BY id").map(Self.nodeRecord)
        }
    }

    public func setNodeState(_ node: NodeID, to state: NodeState) async throws -> Bool {
        try await serialized {
            try await self.run("UPDATE nodes SET state = ? WHERE id = ?", [.text(state.rawValue), .text(node.rawValue)])
            return try await self.run("SELECT 1 FROM nodes WHERE id = ?", [.text(node.rawValue)]).isEmpty == false
        }
    }

    public func removeNode(_ node: NodeID, at time: Date) async throws -> Bool {
        try await serialized(transaction: true) {
            let id = SQLiteData.text(node.rawValue)
            guard try await !self.run("SELECT 1 FROM nodes WHERE id = ?", [id]).isEmpty else { return false }
            try await self.run(
                """
                UPDATE replication_queue SET status = 'CANCELLED', completed_at = ?, error_message = 'node removed'
                WHERE target_node_id = ? AND status IN ('PENDING', 'IN_PROGRESS', 'FAILED')
                """,
                [.text(MetadataTime.format(time)), id])
            try await self.run("DELETE FROM file_locations WHERE node_id = ?", [id])
            try await self.run("DELETE FROM nodes WHERE id = ?", [id])
            return true
        }
    }

    public func heldFiles(on node: NodeID, after: FileKey?, limit: Int) async throws -> [HeldFile] {
        try await serialized {
            let keys = try await self.run(
                """
                SELECT l.file_key FROM file_locations l JOIN files f ON f.file_key = l.file_key
                WHERE l.node_id = ? AND l.status = 'ACTIVE' AND l.file_key > ? AND f.deleted_at IS NULL
                ORDER BY l.file_key LIMIT ?
                """,
                [.text(node.rawValue), .text(after?.rawValue ?? ""), .integer(max(1, min(limit, 500)))]
            ).map { try Self.text($0, "file_key") }
            guard !keys.isEmpty else { return [] }
            let placeholders = Array(repeating: "?", count: keys.count).joined(separator: ",")
            let binds = keys.map { SQLiteData.text($0) }
            var locations: [String: [FileLocation]] = [:]
            for row in try await self.run(
                """
                SELECT file_key, node_id, status, last_verified_at FROM file_locations WHERE file_key IN (\(placeholders))
                ORDER BY node_id
                """, binds)
            {
                locations[try Self.text(row, "file_key"), default: []].append(try Self.fileLocation(row))
            }
            var coming: [String: Set<NodeID>] = [:]
            for row in try await self.run(
                """
                SELECT file_key, target_node_id FROM replication_queue WHERE file_key IN (\(placeholders))
                AND kind = 'REPLICATE' AND status IN ('PENDING', 'IN_PROGRESS')
                """, binds)
            {
                coming[try Self.text(row, "file_key"), default: []].insert(
                    try NodeID(validating: try Self.text(row, "target_node_id")))
            }
            return try await self.run("SELECT * FROM files WHERE file_key IN (\(placeholders)) ORDER BY file_key", binds).map {
                row in
                let key = try Self.text(row, "file_key")
                return HeldFile(entry: try Self.fileEntry(row, locations: locations[key] ?? []), comingTo: coming[key] ?? [])
            }
        }
    }

    public func retireCopy(_ key: FileKey, on node: NodeID, keepingAtLeast: Int) async throws -> Bool {
        try await serialized(transaction: true) {
            let others = try await self.run(
                "SELECT COUNT(*) AS n FROM file_locations WHERE file_key = ? AND node_id <> ? AND status = 'ACTIVE'",
                [.text(key.rawValue), .text(node.rawValue)])
            guard Int(others.first?.column("n")?.integer ?? 0) >= keepingAtLeast else { return false }
            try await self.run(
                "UPDATE file_locations SET status = 'DELETED' WHERE file_key = ? AND node_id = ?",
                [.text(key.rawValue), .text(node.rawValue)])
            return true
        }
    }

    public func moveCopy(_ key: FileKey, to target: NodeID, from source: NodeID, verifiedAt: Date) async throws -> Bool {
        try await serialized(transaction: true) {
            try await self.run(
                """
                INSERT INTO file_locations (file_key, node_id, status, last_verified_at) VALUES (?1, ?2, 'ACTIVE', ?3)
                ON CONFLICT(file_key, node_id) DO UPDATE SET status = 'ACTIVE', last_verified_at = ?3
                """,
                [.text(key.rawValue), .text(target.rawValue), .text(MetadataTime.format(verifiedAt))])
            let retired = try await self.run(
                """
                UPDATE file_locations SET status = 'DELETED' WHERE file_key = ? AND node_id = ? AND status = 'ACTIVE'
                RETURNING node_id
                """,
                [.text(key.rawValue), .text(source.rawValue)])
            return !retired.isEmpty
        }
    }

    public func activeLocationCount(on node: NodeID) async throws -> Int {
        try await serialized {
            let rows = try await self.run(
                """
                SELECT COUNT(*) AS n FROM file_locations l JOIN files f ON f.file_key = l.file_key
                WHERE l.node_id = ? AND l.status = 'ACTIVE' AND f.deleted_at IS NULL
                """,
                [.text(node.rawValue)])
            return Int(rows.first?.column("n")?.integer ?? 0)
        }
    }

    public func recordProbe(of node: NodeID, status: NodeStatus, latencyMs: Double?, at time: Date) async throws {
        let now = MetadataTime.format(time)
        try await serialized {
            try await self.run(
                """
                UPDATE nodes SET
                    status_changed_at = CASE WHEN status <> ?1 OR status_changed_at IS NULL THEN ?3 ELSE status_changed_at END,
                    status = ?1,
                    latency_ms = COALESCE(?2, latency_ms),
                    last_heartbeat = CASE WHEN ?1 = 'UP' THEN ?3 ELSE last_heartbeat END
                WHERE id = ?4
                """,
                [.text(status.rawValue), latencyMs.map { .float($0) } ?? .null, .text(now), .text(node.rawValue)])
        }
    }

    // MARK: - files

    public func recordUpload(_ file: FileRecord, verifiedOn nodes: [NodeID], verifiedAt: Date, queue: [NewQueueItem]) async throws
    {
        try await uploadCommits.submit(
            UploadRecord(file: file, nodes: nodes, verifiedAt: verifiedAt, queue: queue),
            committingWith: { [self] uploads in await self.commitUploads(uploads) })
    }

    /// Records a batch of uploads in one transaction (one WAL fsync); a key that already exists fails that upload alone.
    private func commitUploads(_ uploads: [UploadRecord]) async -> [Result<Void, any Error>] {
        await commitEach(uploads) { try await self.insert($0) }
    }

    /// Runs `write` for each job in one transaction (one WAL fsync), each in its own savepoint when there are several,
    /// so one job's failure undoes that job alone; a failed transaction fails them all. What group commits share.
    func commitEach<Job: Sendable>(
        _ jobs: [Job], _ write: @escaping @Sendable (Job) async throws -> Void
    ) async -> [Result<Void, any Error>] {
        do {
            return try await serialized(transaction: true) {
                guard jobs.count > 1 else {
                    try await write(jobs[0])
                    return [.success(())]
                }
                var outcomes: [Result<Void, any Error>] = []
                for job in jobs {
                    try await self.run("SAVEPOINT job")
                    do {
                        try await write(job)
                        try await self.run("RELEASE job")
                        outcomes.append(.success(()))
                    } catch {
                        try await self.run("ROLLBACK TO job")
                        try await self.run("RELEASE job")
                        outcomes.append(.failure(error))
                    }
                }
                return outcomes
            }
        } catch {
            return Array(repeating: .failure(error), count: jobs.count)
        }
    }

    func insert(_ upload: UploadRecord) async throws {
        let file = upload.file
        let verified = MetadataTime.format(upload.verifiedAt)
        let existing = try await self.run("SELECT 1 FROM files WHERE file_key = ?", [.text(file.key.rawValue)])
        if !existing.isEmpty { throw MetadataError.fileAlreadyExists(file.key) }
        try await self.run(
            """
            INSERT INTO files (file_key, original_filename, size_bytes, checksum_sha256, uploaded_at, block_root, s3_bucket,
                s3_object_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                .text(file.key.rawValue), .text(file.originalFilename), .integer(Int(file.sizeBytes)),
                .text(file.checksum.hex), .text(MetadataTime.format(file.uploadedAt)),
                file.blockRoot.map { .text($0.hex) } ?? .null, file.s3Object.map { .text($0.bucket) } ?? .null,
                file.s3Object.map { .text($0.key) } ?? .null,
            ])
        for node in upload.nodes {
            try await self.run(
                "INSERT INTO file_locations (file_key, node_id, status, last_verified_at) VALUES (?, ?, 'ACTIVE', ?)",
                [.text(file.key.rawValue), .text(node.rawValue), .text(verified)])
        }
        try await self.insertQueueItems(upload.queue, at: upload.verifiedAt)
    }

    public func file(_ key: FileKey) async throws -> FileEntry? {
        try await serialized {
            guard
                let row = try await self.run(
                    "SELECT * FROM files WHERE file_key = ? AND deleted_at IS NULL", [.text(key.rawValue)]
                ).first
            else {
                return nil
            }
            let locations = try await self.run(
                "SELECT node_id, status, last_verified_at FROM file_locations WHERE file_key = ? ORDER BY node_id",
                [.text(key.rawValue)])
            return try Self.fileEntry(row, locations: locations.map(Self.fileLocation))
        }
    }

    public func listFiles(limit: Int, before: Int64?, matching: FileNameSearch?, scanSpan: Int64) async throws -> FilePage {
        try await serialized {
            var sql = "SELECT * FROM files WHERE deleted_at IS NULL AND seq < ?"
            var binds: [SQLiteData] = [.integer(Int(before ?? Int64.max))]
            var order = " ORDER BY seq DESC LIMIT ?"
            var scanFloor: Int64? = nil
            if let matching {
                // The text is ?2 and its longest ASCII stretch ?3 (seq is ?1, LIMIT takes the next number). SQLite's
                // own lower() folds ASCII only; dfs_contains_folded applies FileNameSearch's rule. Keys are ASCII, so
                // lower() is exact for them; for names it first rules out most rows cheaply, as a Swift call per row
                // costs far more.
                var nameMatches = "dfs_contains_folded(files.original_filename, ?2)"
                let stable = matching.longestCaseStableRun.flatMap { $0.unicodeScalars.count >= Self.trigramLength ? $0 : nil }
                binds += [.text(matching.folded)]
                if let run = matching.longestASCIIRun {
                    nameMatches = "(instr(lower(files.original_filename), ?3) > 0 AND \(nameMatches))"
                    binds += [.text(run)]
                } else if stable != nil {
                    binds += [.null]  // ?3 unused, ?4 follows
                }
                if let stable {
                    // Every match contains this stretch, so the trigram index (migration 003) yields all candidates,
                    // newest first, and the page's end stops the walk; ?4 is the stretch as an FTS phrase.
                    sql = """
                        SELECT files.* FROM files_search JOIN files ON files.seq = files_search.rowid
                        WHERE files_search MATCH ?4 AND files_search.rowid < ?1 AND deleted_at IS NULL
                        """
                    binds += [.text(Self.ftsPhrase(stable))]
                    order = " ORDER BY files_search.rowid DESC LIMIT ?"
                } else {
                    // No index: every row is read, so a page reads at most `scanSpan` sequence numbers.
                    let top = try await self.scanTop(before: before)
                    let floor = top - scanSpan
                    scanFloor = floor > 0 ? floor : nil
                    sql += " AND seq >= \(max(floor, 0))"
                }
                sql += " AND (instr(lower(files.file_key), ?2) > 0 OR \(nameMatches))"
            }
            let rows = try await self.run(sql + order, binds + [.integer(limit + 1)])
            guard !rows.isEmpty else { return FilePage(entries: [], nextBefore: scanFloor) }
            let keys = rows.compactMap { $0.column("file_key")?.string }
            let placeholders = Array(repeating: "?", count: keys.count).joined(separator: ",")
            let locationRows = try await self.run(
                "SELECT file_key, node_id, status, last_verified_at FROM file_locations WHERE file_key IN (\(placeholders)) ORDER BY node_id",
                keys.map { .text($0) })
            var byKey: [String: [FileLocation]] = [:]
            for row in locationRows {
                byKey[row.column("file_key")?.string ?? "", default: []].append(try Self.fileLocation(row))
            }
            let entries = try rows.map { row in
                try Self.fileEntry(row, locations: byKey[row.column("file_key")?.string ?? ""] ?? [])
            }
            return FilePage.fromRows(entries, limit: limit, scanFloor: scanFloor)
        }
    }

    /// Where a bounded scan starts: the cursor, else one past the newest sequence number.
    private func scanTop(before: Int64?) async throws -> Int64 {
        if let before { return before }
        let newest = try await self.run("SELECT max(seq) AS newest FROM files").first?.column("newest")?.integer
        return Int64(newest ?? 0) + 1
    }

    /// The trigram index finds only texts of at least this many characters (Unicode scalars).
    static let trigramLength = 3

    /// `text` as an FTS5 phrase: quoted, its quotes doubled, so no character of it is query syntax.
    static func ftsPhrase(_ text: String) -> String { "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }

    public func markDeleted(_ key: FileKey, removedFrom: [NodeID], pendingOn: [NodeID], at time: Date) async throws -> Bool {
        let now = MetadataTime.format(time)
        return try await serialized(transaction: true) {
            let live = try await self.run("SELECT 1 FROM files WHERE file_key = ? AND deleted_at IS NULL", [.text(key.rawValue)])
            guard !live.isEmpty else { return false }
            try await self.run("UPDATE files SET deleted_at = ? WHERE file_key = ?", [.text(now), .text(key.rawValue)])
            try await self.run("UPDATE file_locations SET status = 'DELETED' WHERE file_key = ?", [.text(key.rawValue)])
            try await self.run(
                """
                UPDATE replication_queue SET status = 'CANCELLED', completed_at = ?, error_message = 'file deleted'
                WHERE file_key = ? AND kind = 'REPLICATE' AND status IN ('PENDING', 'IN_PROGRESS', 'FAILED')
                """,
                [.text(now), .text(key.rawValue)])
            try await self.insertQueueItems(
                pendingOn.map {
                    NewQueueItem(
                        fileKey: key, targetNodeID: $0, sourceNodeID: nil, kind: .delete, reason: "removal from this node pending"
                    )
                },
                at: time)
            return true
        }
    }

    public func completeDeletes(of key: FileKey, on nodes: [NodeID], at time: Date) async throws {
        guard !nodes.isEmpty else { return }
        let placeholders = nodes.map { _ in "?" }.joined(separator: ", ")
        try await serialized {
            _ = try await self.run(
                """
                UPDATE replication_queue SET status = 'COMPLETED', completed_at = ?, error_message = NULL
                WHERE file_key = ? AND kind = 'DELETE' AND status = 'PENDING' AND target_node_id IN (\(placeholders))
                """,
                [.text(MetadataTime.format(time)), .text(key.rawValue)] + nodes.map { .text($0.rawValue) })
        }
    }

    public func recordBlockRoot(_ key: FileKey, root: SHA256Digest) async throws -> Bool {
        try await serialized {
            try await self.run(
                "UPDATE files SET block_root = ? WHERE file_key = ? AND deleted_at IS NULL AND block_root IS NULL RETURNING 1",
                [.text(root.hex), .text(key.rawValue)]
            ).count == 1
        }
    }

    public func recordLocation(_ key: FileKey, on node: NodeID, status: LocationStatus, verifiedAt: Date?) async throws {
        try await serialized {
            try await self.run(
                """
                INSERT INTO file_locations (file_key, node_id, status, last_verified_at) VALUES (?1, ?2, ?3, ?4)
                ON CONFLICT(file_key, node_id) DO UPDATE SET status = ?3, last_verified_at = COALESCE(?4, last_verified_at)
                """,
                [
                    .text(key.rawValue), .text(node.rawValue), .text(status.rawValue),
                    verifiedAt.map { .text(MetadataTime.format($0)) } ?? .null,
                ])
        }
    }

    // MARK: - queue

    public func queueItems(_ filter: QueueFilter) async throws -> [QueueItem] {
        try await serialized {
            var conditions: [String] = []
            var binds: [SQLiteData] = []
            if let status = filter.status {
                conditions.append("status = ?")
                binds.append(.text(status.rawValue))
            }
            if let node = filter.targetNodeID {
                conditions.append("target_node_id = ?")
                binds.append(.text(node.rawValue))
            }
            let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
            binds.append(.integer(filter.limit))
            return try await self.run("SELECT * FROM replication_queue \(whereClause) ORDER BY id LIMIT ?", binds).map(
                Self.queueItem)
        }
    }

    public func enqueue(_ items: [NewQueueItem], at time: Date) async throws {
        try await serialized(transaction: true) { try await self.insertQueueItems(items, at: time) }
    }

    func insertQueueItems(_ items: [NewQueueItem], at time: Date) async throws {
        for item in items {
            // OR IGNORE + the partial unique index: an identical live item already queued is kept as is.
            try await self.run(
                """
                INSERT OR IGNORE INTO replication_queue (file_key, target_node_id, source_node_id, kind, status, created_at, error_message)
                VALUES (?, ?, ?, ?, 'PENDING', ?, ?)
                """,
                [
                    .text(item.fileKey.rawValue), .text(item.targetNodeID.rawValue),
                    item.sourceNodeID.map { .text($0.rawValue) } ?? .null,
                    .text(item.kind.rawValue), .text(MetadataTime.format(time)), item.reason.map { .text($0) } ?? .null,
                ])
        }
    }

    public func claimQueueItems(
        for node: NodeID, owner: String, includeFailed: Bool, now: Date, leaseUntil: Date, limit: Int
    ) async throws -> [QueueItem] {
        let nowText = MetadataTime.format(now)
        return try await serialized(transaction: true) {
            let statuses = includeFailed ? "('PENDING', 'FAILED')" : "('PENDING')"
            let dueCondition = includeFailed ? "" : "AND (q.next_attempt_at IS NULL OR q.next_attempt_at <= ?2)"
            // Fewest verified copies first: those files are closest to being lost.
            let rows = try await self.run(
                """
                SELECT q.id FROM replication_queue q
                WHERE q.target_node_id = ?1 AND q.status IN \(statuses) \(dueCondition)
                ORDER BY (SELECT COUNT(*) FROM file_locations l WHERE l.file_key = q.file_key AND l.status = 'ACTIVE'), q.id
                LIMIT ?3
                """,
                [.text(node.rawValue), .text(nowText), .integer(limit)])
            let ids = rows.compactMap { $0.column("id")?.integer }
            var claimed: [QueueItem] = []
            for id in ids {
                // A FAILED item being retried by hand starts a fresh series of attempts.
                let updated = try await self.run(
                    """
                    UPDATE replication_queue SET status = 'IN_PROGRESS', lease_owner = ?, lease_expires_at = ?, last_attempt = ?,
                        retry_count = CASE WHEN status = 'FAILED' THEN 0 ELSE retry_count END
                    WHERE id = ? RETURNING *
                    """,
                    [.text(owner), .text(MetadataTime.format(leaseUntil)), .text(nowText), .integer(id)])
                claimed += try updated.map(Self.queueItem)
            }
            return claimed
        }
    }

    public func renewClaims(_ ids: [Int64], owner: String, leaseUntil: Date) async throws -> Int {
        guard !ids.isEmpty else { return 0 }
        let placeholders = Array(repeating: "?", count: ids.count).joined(separator: ",")
        return try await serialized {
            try await self.run(
                "UPDATE replication_queue SET lease_expires_at = ? WHERE status = 'IN_PROGRESS' AND lease_owner = ? AND id IN (\(placeholders)) RETURNING id",
                [.text(MetadataTime.format(leaseUntil)), .text(owner)] + ids.map { .integer(Int($0)) }
            ).count
        }
    }

    public func completeQueueItem(_ id: Int64, owner: String, at time: Date) async throws -> Bool {
        let now = MetadataTime.format(time)
        return try await serialized {
            try await self.run(
                """
                UPDATE replication_queue SET status = 'COMPLETED', completed_at = ?1, error_message = NULL, lease_owner = NULL, lease_expires_at = NULL
                WHERE id = ?2 AND status = 'IN_PROGRESS' AND lease_owner = ?3 AND lease_expires_at > ?1 RETURNING id
                """,
                [.text(now), .integer(Int(id)), .text(owner)]
            ).count == 1
        }
    }

    public func failQueueItem(
        _ id: Int64, owner: String, error: String, at time: Date, retryAt: Date, maxRetries: Int
    ) async throws -> Bool {
        try await serialized {
            try await self.run(
                """
                UPDATE replication_queue SET
                    retry_count = retry_count + 1,
                    status = CASE WHEN retry_count + 1 >= ?1 THEN 'FAILED' ELSE 'PENDING' END,
                    error_message = ?2, last_attempt = ?3, next_attempt_at = ?4, lease_owner = NULL, lease_expires_at = NULL
                WHERE id = ?5 AND status = 'IN_PROGRESS' AND lease_owner = ?6 AND lease_expires_at > ?3 RETURNING id
                """,
                [
                    .integer(maxRetries), .text(String(error.prefix(1000))), .text(MetadataTime.format(time)),
                    .text(MetadataTime.format(retryAt)), .integer(Int(id)), .text(owner),
                ]
            ).count == 1
        }
    }

    public func releaseExpiredClaims(now: Date) async throws -> Int {
        try await serialized {
            try await self.run(
                """
                UPDATE replication_queue SET status = 'PENDING', lease_owner = NULL, lease_expires_at = NULL
                WHERE status = 'IN_PROGRESS' AND lease_expires_at <= ? RETURNING id
                """,
                [.text(MetadataTime.format(now))]
            ).count
        }
    }
}
