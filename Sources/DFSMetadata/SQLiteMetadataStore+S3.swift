import DFSCore
import Foundation
import SQLiteNIO
import Synchronization

extension SQLiteMetadataStore: S3Catalog {
    // MARK: - buckets

    public func createBucket(_ name: String, owner: String, at time: Date) async throws -> Bool {
        try await serialized {
            try await self.run(
                "INSERT INTO s3_buckets (name, created_at, owner) VALUES (?, ?, ?) ON CONFLICT(name) DO NOTHING",
                [.text(name), .text(MetadataTime.format(time)), .text(owner)])
            return try await self.run("SELECT changes() AS n").first?.column("n")?.integer == 1
        }
    }

    public func bucket(_ name: String) async throws -> S3BucketRecord? {
        try await serialized {
            try await self.run("SELECT * FROM s3_buckets WHERE name = ?", [.text(name)]).first.map(Self.bucketRecord)
        }
    }

    public func buckets() async throws -> [S3BucketRecord] {
        try await serialized { try await self.run("SELECT * FROM s3_buckets ORDER BY name").map(Self.bucketRecord) }
    }

    public func deleteBucket(_ name: String) async throws -> S3BucketDeletion {
        try await serialized(transaction: true) {
            let bucket = SQLiteData.text(name)
            guard try await !self.run("SELECT 1 FROM s3_buckets WHERE name = ?", [bucket]).isEmpty else { return .notFound }
            let holds = try await self.run(
                """
                SELECT EXISTS (SELECT 1 FROM s3_objects WHERE bucket = ?)
                    OR EXISTS (SELECT 1 FROM s3_multipart_uploads WHERE bucket = ?) AS holds
                """, [bucket, bucket])
            guard holds.first?.column("holds")?.integer == 0 else { return .notEmpty }
            try await self.run("DELETE FROM s3_buckets WHERE name = ?", [bucket])
            return .deleted
        }
    }

    // MARK: - objects

    public func putObject(_ object: S3ObjectRecord, segments: [S3ObjectSegment]) async throws -> [FileKey] {
        try await commit(ObjectRecording(object: object, segments: segments, upload: nil))
    }

    public func putObject(_ object: S3ObjectRecord, recordingUpload upload: UploadRecord) async throws -> [FileKey] {
        try await commit(ObjectRecording(object: object, segments: [S3ObjectSegment(wholeFile: upload.file)], upload: upload))
    }

    /// Waits for `recording`'s group commit; returns the files of the object it replaced.
    private func commit(_ recording: ObjectRecording) async throws -> [FileKey] {
        try await objectCommits.submit(recording, committingWith: { [self] batch in await self.commitObjects(batch) })
        return recording.replaced.withLock { $0 }
    }

    /// Records a batch of objects (with their files, when they come with one) in one transaction (one WAL fsync).
    private func commitObjects(_ batch: [ObjectRecording]) async -> [Result<Void, any Error>] {
        await commitEach(batch) { recording in
            if let upload = recording.upload { try await self.insert(upload) }
            let replaced = try await self.replaceObject(recording.object, segments: recording.segments)
            recording.replaced.withLock { $0 = replaced }
        }
    }

    public func object(bucket: String, key: String) async throws -> S3StoredObject? {
        try await serialized {
            // One statement, not two: each costs a hop to SQLite's thread, and a GET pays this on every request.
            let rows = try await self.run(
                """
                SELECT o.*, s.file_key AS segment_file_key, s.offset_bytes AS segment_offset_bytes,
                    s.size_bytes AS segment_size_bytes
                FROM s3_objects o LEFT JOIN s3_object_segments s ON s.bucket = o.bucket AND s.object_key = o.object_key
                WHERE o.bucket = ? AND o.object_key = ? ORDER BY s.segment
                """, [.text(bucket), .text(key)])
            guard let first = rows.first else { return nil }
            let segments = try rows.filter { $0.column("segment_file_key")?.string != nil }.map { row in
                guard let offset = row.column("segment_offset_bytes")?.integer,
                    let size = row.column("segment_size_bytes")?.integer
                else { throw MetadataError.corruptRow("s3_object_segments offset/size") }
                return S3ObjectSegment(
                    fileKey: try FileKey(validating: try Self.text(row, "segment_file_key")), offset: Int64(offset),
                    sizeBytes: Int64(size))
            }
            return S3StoredObject(object: try Self.objectRecord(first), segments: segments)
        }
    }

    public func deleteObject(bucket: String, key: String) async throws -> [FileKey]? {
        try await serialized(transaction: true) { try await self.dropObject(bucket: bucket, key: key) }
    }

    public func listObjects(
        bucket: String, prefix: String, after marker: String?, inclusive: Bool, limit: Int
    ) async throws -> [S3ObjectRecord] {
        try await serialized {
            // A range on the primary key: seek to the prefix (or past `after`), stop where the prefix's keys end.
            let fromMarker = marker.map { !$0.utf8.lexicographicallyPrecedes(prefix.utf8) } ?? false
            let upper = S3KeyOrder.upperBound(ofPrefix: prefix)
            var binds: [SQLiteData] = [.text(bucket), .text(fromMarker ? marker! : prefix)]
            if let upper { binds.append(.text(upper)) }
            binds.append(.integer(max(1, limit)))
            let rows = try await self.run(
                """
                SELECT * FROM s3_objects WHERE bucket = ? AND object_key \(fromMarker && !inclusive ? ">" : ">=") ?
                    \(upper == nil ? "" : "AND object_key < ?") ORDER BY object_key LIMIT ?
                """, binds)
            return try rows.map(Self.objectRecord).filter { $0.key.utf8.starts(with: prefix.utf8) }
        }
    }

    // MARK: - multipart uploads

    public func createMultipartUpload(_ upload: S3MultipartUpload) async throws {
        try await serialized {
            try await self.run(
                """
                INSERT INTO s3_multipart_uploads (upload_id, bucket, object_key, initiated_at, content_type, metadata_json,
                    checksum_algorithm, checksum_type) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """,
                [
                    .text(upload.uploadID), .text(upload.bucket), .text(upload.key),
                    .text(MetadataTime.format(upload.initiatedAt)), .text(upload.contentType),
                    .text(S3CatalogJSON.encode(upload.metadata)), upload.checksumAlgorithm.map(SQLiteData.text) ?? .null,
                    upload.checksumType.map(SQLiteData.text) ?? .null,
                ])
        }
    }

    public func multipartUpload(_ uploadID: String) async throws -> S3MultipartUpload? {
        try await serialized {
            try await self.run("SELECT * FROM s3_multipart_uploads WHERE upload_id = ?", [.text(uploadID)]).first.map(
                Self.multipartUpload)
        }
    }

    public func putPart(_ part: S3PartRecord) async throws -> FileKey?? {
        try await serialized(transaction: true) {
            let id = SQLiteData.text(part.uploadID)
            guard try await !self.run("SELECT 1 FROM s3_multipart_uploads WHERE upload_id = ?", [id]).isEmpty else {
                return FileKey??.none
            }
            let replaced = try await self.run(
                "SELECT file_key FROM s3_multipart_parts WHERE upload_id = ? AND part_number = ?",
                [id, .integer(part.partNumber)]
            ).first.map { try FileKey(validating: try Self.text($0, "file_key")) }
            try await self.run(
                """
                INSERT OR REPLACE INTO s3_multipart_parts (upload_id, part_number, file_key, size_bytes, etag, checksums_json,
                    sha256, uploaded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """,
                [
                    id, .integer(part.partNumber), .text(part.fileKey.rawValue), .integer(Int(part.sizeBytes)),
                    .text(part.etag), .text(S3CatalogJSON.encode(part.checksums)), .text(part.sha256.hex),
                    .text(MetadataTime.format(part.uploadedAt)),
                ])
            return .some(replaced)
        }
    }

    public func parts(of uploadID: String, after: Int, limit: Int) async throws -> [S3PartRecord] {
        try await serialized {
            try await self.run(
                "SELECT * FROM s3_multipart_parts WHERE upload_id = ? AND part_number > ? ORDER BY part_number LIMIT ?",
                [.text(uploadID), .integer(after), .integer(max(1, limit))]
            ).map(Self.partRecord)
        }
    }

    public func multipartUploads(
        bucket: String, prefix: String, afterKey: String?, afterUploadID: String?, limit: Int
    ) async throws -> [S3MultipartUpload] {
        try await serialized {
            // Without an upload id marker, the marker key's uploads are all skipped (S3's key-marker rule).
            let key = afterKey ?? ""
            let upload = afterKey == nil ? "" : afterUploadID ?? "\u{7F}"
            let upper = S3KeyOrder.upperBound(ofPrefix: prefix)
            var binds: [SQLiteData] = [.text(bucket), .text(prefix), .text(key), .text(key), .text(upload)]
            if let upper { binds.append(.text(upper)) }
            binds.append(.integer(max(1, limit)))
            let rows = try await self.run(
                """
                SELECT * FROM s3_multipart_uploads WHERE bucket = ? AND object_key >= ?
                    AND (object_key > ? OR (object_key = ? AND upload_id > ?)) \(upper == nil ? "" : "AND object_key < ?")
                ORDER BY object_key, upload_id LIMIT ?
                """, binds)
            return try rows.map(Self.multipartUpload).filter { $0.key.utf8.starts(with: prefix.utf8) }
        }
    }

    public func completeMultipartUpload(
        _ uploadID: String, as object: S3ObjectRecord, segments: [S3ObjectSegment]
    ) async throws -> [FileKey]? {
        try await serialized(transaction: true) {
            guard let partFiles = try await self.dropUpload(uploadID) else { return nil }
            let replaced = try await self.replaceObject(object, segments: segments)
            let kept = Set(segments.map(\.fileKey))
            return partFiles.filter { !kept.contains($0) } + replaced
        }
    }

    public func abortMultipartUpload(_ uploadID: String) async throws -> [FileKey]? {
        try await serialized(transaction: true) { try await self.dropUpload(uploadID) }
    }

    public func multipartUploads(initiatedBefore time: Date, limit: Int) async throws -> [S3MultipartUpload] {
        try await serialized {
            try await self.run(
                "SELECT * FROM s3_multipart_uploads WHERE initiated_at < ? ORDER BY initiated_at LIMIT ?",
                [.text(MetadataTime.format(time)), .integer(max(1, limit))]
            ).map(Self.multipartUpload)
        }
    }

    // MARK: - whole-object digests

    public func objectsAwaitingDigest(limit: Int) async throws -> [S3ObjectName] {
        try await serialized {
            try await self.run(
                "SELECT bucket, object_key FROM s3_pending_object_digests ORDER BY queued_at LIMIT ?", [.integer(max(1, limit))]
            ).map { S3ObjectName(bucket: try Self.text($0, "bucket"), key: try Self.text($0, "object_key")) }
        }
    }

    public func claimObjectsAwaitingDigest(
        owner: String, now: Date, leaseUntil: Date, limit: Int
    ) async throws
        -> [S3ObjectName]
    {
        try await serialized {
            // '' (never claimed) sorts before every time.
            try await self.run(
                """
                UPDATE s3_pending_object_digests SET claimed_by = ?, claimed_until = ?
                WHERE (bucket, object_key) IN (
                    SELECT bucket, object_key FROM s3_pending_object_digests WHERE claimed_until <= ? ORDER BY queued_at LIMIT ?)
                RETURNING bucket, object_key, queued_at
                """,
                [.text(owner), .text(MetadataTime.format(leaseUntil)), .text(MetadataTime.format(now)), .integer(max(1, limit))]
            ).map { row in
                (
                    S3ObjectName(bucket: try Self.text(row, "bucket"), key: try Self.text(row, "object_key")),
                    try Self.text(row, "queued_at")
                )
            }.sorted { $0.1 < $1.1 }.map(\.0)
        }
    }

    public func holdObjectDigestClaim(bucket: String, key: String, owner: String, until time: Date) async throws {
        try await serialized {
            try await self.run(
                "UPDATE s3_pending_object_digests SET claimed_until = ? WHERE bucket = ? AND object_key = ? AND claimed_by = ?",
                [.text(MetadataTime.format(time)), .text(bucket), .text(key), .text(owner)])
        }
    }

    public func recordObjectDigest(_ digest: SHA256Digest, bucket: String, key: String, etag: String) async throws -> Bool {
        try await serialized(transaction: true) {
            let binds: [SQLiteData] = [.text(bucket), .text(key)]
            guard
                try await !self.run(
                    """
                    UPDATE s3_objects SET sha256 = ? WHERE bucket = ? AND object_key = ? AND etag = ? AND sha256 = ''
                    RETURNING 1 AS updated
                    """, [.text(digest.hex)] + binds + [.text(etag)]
                ).isEmpty
            else { return false }
            try await self.run("DELETE FROM s3_pending_object_digests WHERE bucket = ? AND object_key = ?", binds)
            return true
        }
    }

    public func objectRoles(of files: [FileKey]) async throws -> [FileKey: S3FileRole] {
        guard !files.isEmpty else { return [:] }
        return try await serialized {
            var roles: [FileKey: S3FileRole] = [:]
            // SQLite binds at most 999 values per statement by default; a /files page holds at most 1000.
            for slice in stride(from: 0, to: files.count, by: 500).map({ files[$0..<min($0 + 500, files.count)] }) {
                let rows = try await self.run(
                    """
                    SELECT o.*, s.file_key AS segment_file_key, s.segment AS segment_index
                    FROM s3_object_segments s JOIN s3_objects o ON o.bucket = s.bucket AND o.object_key = s.object_key
                    WHERE s.file_key IN (\(Array(repeating: "?", count: slice.count).joined(separator: ", ")))
                    """, slice.map { .text($0.rawValue) })
                for row in rows {
                    guard let index = row.column("segment_index")?.integer else {
                        throw MetadataError.corruptRow("s3_object_segments segment")
                    }
                    roles[try FileKey(validating: try Self.text(row, "segment_file_key"))] = S3FileRole(
                        object: try Self.objectRecord(row), segmentNumber: index + 1)
                }
            }
            return roles
        }
    }

    // MARK: - within a transaction

    /// Records `object` in place of any of its name; returns the files the replaced one held.
    private func replaceObject(_ object: S3ObjectRecord, segments: [S3ObjectSegment]) async throws -> [FileKey] {
        let replaced = try await dropObject(bucket: object.bucket, key: object.key) ?? []
        try await insertObject(object, segments: segments)
        return replaced
    }

    /// Removes an object and its segments; returns their files, or nil when there was no such object.
    private func dropObject(bucket: String, key: String) async throws -> [FileKey]? {
        let binds: [SQLiteData] = [.text(bucket), .text(key)]
        guard try await !self.run("SELECT 1 FROM s3_objects WHERE bucket = ? AND object_key = ?", binds).isEmpty else {
            return nil
        }
        let files = try await self.run(
            "SELECT file_key FROM s3_object_segments WHERE bucket = ? AND object_key = ? ORDER BY segment", binds
        ).map { try FileKey(validating: try Self.text($0, "file_key")) }
        try await self.run("DELETE FROM s3_object_segments WHERE bucket = ? AND object_key = ?", binds)
        try await self.run("DELETE FROM s3_objects WHERE bucket = ? AND object_key = ?", binds)
        try await self.run("DELETE FROM s3_pending_object_digests WHERE bucket = ? AND object_key = ?", binds)
        return files
    }

    private func insertObject(_ object: S3ObjectRecord, segments: [S3ObjectSegment]) async throws {
        try await self.run(
            """
            INSERT INTO s3_objects (bucket, object_key, size_bytes, etag, content_type, metadata_json, checksums_json, sha256,
                last_modified, parts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                .text(object.bucket), .text(object.key), .integer(Int(object.sizeBytes)), .text(object.etag),
                .text(object.contentType), .text(S3CatalogJSON.encode(object.metadata)),
                .text(S3CatalogJSON.encode(object.checksums)), .text(S3ObjectDigestColumn.text(object.sha256)),
                .text(MetadataTime.format(object.lastModified)), .integer(object.parts),
            ])
        if object.sha256 == nil {
            try await self.run(
                "INSERT INTO s3_pending_object_digests (bucket, object_key, queued_at) VALUES (?, ?, ?)",
                [.text(object.bucket), .text(object.key), .text(MetadataTime.format(object.lastModified))])
        }
        for (index, segment) in segments.enumerated() {
            try await self.run(
                """
                INSERT INTO s3_object_segments (bucket, object_key, segment, file_key, offset_bytes, size_bytes)
                VALUES (?, ?, ?, ?, ?, ?)
                """,
                [
                    .text(object.bucket), .text(object.key), .integer(index), .text(segment.fileKey.rawValue),
                    .integer(Int(segment.offset)), .integer(Int(segment.sizeBytes)),
                ])
        }
    }

    /// Removes an upload and its parts; returns the parts' files, or nil when there was no such upload.
    private func dropUpload(_ uploadID: String) async throws -> [FileKey]? {
        let id = SQLiteData.text(uploadID)
        guard try await !self.run("SELECT 1 FROM s3_multipart_uploads WHERE upload_id = ?", [id]).isEmpty else { return nil }
        let files = try await self.run(
            "SELECT file_key FROM s3_multipart_parts WHERE upload_id = ? ORDER BY part_number", [id]
        ).map { try FileKey(validating: try Self.text($0, "file_key")) }
        try await self.run("DELETE FROM s3_multipart_parts WHERE upload_id = ?", [id])
        try await self.run("DELETE FROM s3_multipart_uploads WHERE upload_id = ?", [id])
        return files
    }

    // MARK: - rows

    static func bucketRecord(_ row: SQLiteRow) throws -> S3BucketRecord {
        S3BucketRecord(name: try text(row, "name"), createdAt: try date(row, "created_at"), owner: try text(row, "owner"))
    }

    static func objectRecord(_ row: SQLiteRow) throws -> S3ObjectRecord {
        let sha256 = try S3ObjectDigestColumn.digest(try text(row, "sha256"))
        guard let size = row.column("size_bytes")?.integer else { throw MetadataError.corruptRow("s3_objects size_bytes") }
        return S3ObjectRecord(
            bucket: try text(row, "bucket"), key: try text(row, "object_key"), sizeBytes: Int64(size),
            etag: try text(row, "etag"), contentType: try text(row, "content_type"),
            metadata: S3CatalogJSON.decode(try text(row, "metadata_json")),
            checksums: S3CatalogJSON.decode(try text(row, "checksums_json")), sha256: sha256,
            lastModified: try date(row, "last_modified"), parts: row.column("parts")?.integer ?? 0)
    }

    static func multipartUpload(_ row: SQLiteRow) throws -> S3MultipartUpload {
        S3MultipartUpload(
            uploadID: try text(row, "upload_id"), bucket: try text(row, "bucket"), key: try text(row, "object_key"),
            initiatedAt: try date(row, "initiated_at"), contentType: try text(row, "content_type"),
            metadata: S3CatalogJSON.decode(try text(row, "metadata_json")),
            checksumAlgorithm: row.column("checksum_algorithm")?.string, checksumType: row.column("checksum_type")?.string)
    }

    static func partRecord(_ row: SQLiteRow) throws -> S3PartRecord {
        guard let number = row.column("part_number")?.integer, let size = row.column("size_bytes")?.integer,
            let sha256 = SHA256Digest(hex: try text(row, "sha256"))
        else { throw MetadataError.corruptRow("s3_multipart_parts") }
        return S3PartRecord(
            uploadID: try text(row, "upload_id"), partNumber: number,
            fileKey: try FileKey(validating: try text(row, "file_key")), sizeBytes: Int64(size), etag: try text(row, "etag"),
            checksums: S3CatalogJSON.decode(try text(row, "checksums_json")), sha256: sha256,
            uploadedAt: try date(row, "uploaded_at"))
    }
}

/// One `putObject` waiting for its group commit, and what it replaced once committed.
final class ObjectRecording: Sendable {
    let object: S3ObjectRecord
    let segments: [S3ObjectSegment]
    /// The object's one file, recorded in the same savepoint.
    let upload: UploadRecord?
    let replaced = Mutex<[FileKey]>([])

    init(object: S3ObjectRecord, segments: [S3ObjectSegment], upload: UploadRecord?) {
        self.object = object
        self.segments = segments
        self.upload = upload
    }
}
