import DFSCore
import Foundation

// The same operations as SQLiteMetadataStore+S3, in MySQL's dialect; rows are locked (FOR UPDATE) where a
// transaction reads what it then changes, since several gateways may share the database.
extension MySQLMetadataStore: S3Catalog {
    // MARK: - buckets

    public func createBucket(_ name: String, owner: String, at time: Date) async throws -> Bool {
        try await withConnection { connection in
            try connection.update(
                "INSERT IGNORE INTO s3_buckets (name, created_at, owner) VALUES (?, ?, ?)",
                [.text(name), Self.time(time), .text(owner)]) == 1
        }
    }

    public func bucket(_ name: String) async throws -> S3BucketRecord? {
        try await withConnection { connection in
            try connection.query("SELECT * FROM s3_buckets WHERE name = ?", [.text(name)]).first.map(Self.bucketRecord)
        }
    }

    public func buckets() async throws -> [S3BucketRecord] {
        try await withConnection { connection in
            try connection.query("SELECT * FROM s3_buckets ORDER BY name").map(Self.bucketRecord)
        }
    }

    public func deleteBucket(_ name: String) async throws -> S3BucketDeletion {
        try await withConnection(transaction: true) { connection in
            let bucket = MySQLValue.text(name)
            guard try !connection.query("SELECT 1 FROM s3_buckets WHERE name = ? FOR UPDATE", [bucket]).isEmpty else {
                return .notFound
            }
            let holds = try connection.query(
                """
                SELECT EXISTS (SELECT 1 FROM s3_objects WHERE bucket = ?)
                    OR EXISTS (SELECT 1 FROM s3_multipart_uploads WHERE bucket = ?) AS holds
                """, [bucket, bucket])
            guard holds.first?["holds"] == "0" else { return .notEmpty }
            try connection.update("DELETE FROM s3_buckets WHERE name = ?", [bucket])
            return .deleted
        }
    }

    // MARK: - objects

    public func putObject(_ object: S3ObjectRecord, segments: [S3ObjectSegment]) async throws -> [FileKey] {
        try await withConnection(transaction: true) { connection in
            try Self.replaceObject(connection, object, segments: segments)
        }
    }

    public func putObject(_ object: S3ObjectRecord, recordingUpload upload: UploadRecord) async throws -> [FileKey] {
        try await withConnection(transaction: true) { connection in
            do {
                try Self.insert(upload, on: connection)
            } catch let error as MySQLError where error.isDuplicateKey {
                throw MetadataError.fileAlreadyExists(upload.file.key)
            }
            return try Self.replaceObject(connection, object, segments: [S3ObjectSegment(wholeFile: upload.file)])
        }
    }

    public func object(bucket: String, key: String) async throws -> S3StoredObject? {
        try await withConnection { connection in
            let binds: [MySQLValue] = [.text(bucket), .text(key)]
            guard let row = try connection.query("SELECT * FROM s3_objects WHERE bucket = ? AND object_key = ?", binds).first
            else { return nil }
            let segments = try connection.query(
                "SELECT * FROM s3_object_segments WHERE bucket = ? AND object_key = ? ORDER BY segment", binds
            ).map(Self.objectSegment)
            return S3StoredObject(object: try Self.objectRecord(row), segments: segments)
        }
    }

    public func deleteObject(bucket: String, key: String) async throws -> [FileKey]? {
        try await withConnection(transaction: true) { connection in try Self.dropObject(connection, bucket: bucket, key: key) }
    }

    public func listObjects(
        bucket: String, prefix: String, after marker: String?, inclusive: Bool, limit: Int
    ) async throws -> [S3ObjectRecord] {
        try await withConnection { connection in
            // A range on the primary key: seek to the prefix (or past `after`), stop where the prefix's keys end.
            let fromMarker = marker.map { !$0.utf8.lexicographicallyPrecedes(prefix.utf8) } ?? false
            let upper = S3KeyOrder.upperBound(ofPrefix: prefix)
            var binds: [MySQLValue] = [.text(bucket), .text(fromMarker ? marker! : prefix)]
            if let upper { binds.append(.text(upper)) }
            binds.append(.int(Int64(max(1, limit))))
            let rows = try connection.query(
                """
                SELECT * FROM s3_objects WHERE bucket = ? AND object_key \(fromMarker && !inclusive ? ">" : ">=") ?
                    \(upper == nil ? "" : "AND object_key < ?") ORDER BY object_key LIMIT ?
                """, binds)
            return try rows.map(Self.objectRecord).filter { $0.key.utf8.starts(with: prefix.utf8) }
        }
    }

    // MARK: - multipart uploads

    public func createMultipartUpload(_ upload: S3MultipartUpload) async throws {
        try await withConnection { connection in
            try connection.update(
                """
                INSERT INTO s3_multipart_uploads (upload_id, bucket, object_key, initiated_at, content_type, metadata_json,
                    checksum_algorithm, checksum_type) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """,
                [
                    .text(upload.uploadID), .text(upload.bucket), .text(upload.key),
                    Self.time(upload.initiatedAt), .text(upload.contentType),
                    .text(S3CatalogJSON.encode(upload.metadata)), upload.checksumAlgorithm.map(MySQLValue.text) ?? .null,
                    upload.checksumType.map(MySQLValue.text) ?? .null,
                ])
        }
    }

    public func multipartUpload(_ uploadID: String) async throws -> S3MultipartUpload? {
        try await withConnection { connection in
            try connection.query("SELECT * FROM s3_multipart_uploads WHERE upload_id = ?", [.text(uploadID)]).first.map(
                Self.multipartUpload)
        }
    }

    public func putPart(_ part: S3PartRecord) async throws -> FileKey?? {
        try await withConnection(transaction: true) { connection in
            let id = MySQLValue.text(part.uploadID)
            guard try !connection.query("SELECT 1 FROM s3_multipart_uploads WHERE upload_id = ? FOR UPDATE", [id]).isEmpty
            else { return FileKey??.none }
            let replaced = try connection.query(
                "SELECT file_key FROM s3_multipart_parts WHERE upload_id = ? AND part_number = ?",
                [id, .int(Int64(part.partNumber))]
            ).first.map { try FileKey(validating: try Self.text($0, "file_key")) }
            try connection.update(
                """
                REPLACE INTO s3_multipart_parts (upload_id, part_number, file_key, size_bytes, etag, checksums_json,
                    sha256, uploaded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """,
                [
                    id, .int(Int64(part.partNumber)), .text(part.fileKey.rawValue), .int(part.sizeBytes),
                    .text(part.etag), .text(S3CatalogJSON.encode(part.checksums)), .text(part.sha256.hex),
                    Self.time(part.uploadedAt),
                ])
            return .some(replaced)
        }
    }

    public func parts(of uploadID: String, after: Int, limit: Int) async throws -> [S3PartRecord] {
        try await withConnection { connection in
            try connection.query(
                "SELECT * FROM s3_multipart_parts WHERE upload_id = ? AND part_number > ? ORDER BY part_number LIMIT ?",
                [.text(uploadID), .int(Int64(after)), .int(Int64(max(1, limit)))]
            ).map(Self.partRecord)
        }
    }

    public func multipartUploads(
        bucket: String, prefix: String, afterKey: String?, afterUploadID: String?, limit: Int
    ) async throws -> [S3MultipartUpload] {
        try await withConnection { connection in
            // Without an upload id marker, the marker key's uploads are all skipped (S3's key-marker rule).
            let key = afterKey ?? ""
            let upload = afterKey == nil ? "" : afterUploadID ?? "\u{7F}"
            let upper = S3KeyOrder.upperBound(ofPrefix: prefix)
            var binds: [MySQLValue] = [.text(bucket), .text(prefix), .text(key), .text(key), .text(upload)]
            if let upper { binds.append(.text(upper)) }
            binds.append(.int(Int64(max(1, limit))))
            let rows = try connection.query(
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
        try await withConnection(transaction: true) { connection in
            guard let partFiles = try Self.dropUpload(connection, uploadID) else { return nil }
            let replaced = try Self.replaceObject(connection, object, segments: segments)
            let kept = Set(segments.map(\.fileKey))
            return partFiles.filter { !kept.contains($0) } + replaced
        }
    }

    public func abortMultipartUpload(_ uploadID: String) async throws -> [FileKey]? {
        try await withConnection(transaction: true) { connection in try Self.dropUpload(connection, uploadID) }
    }

    public func multipartUploads(initiatedBefore time: Date, limit: Int) async throws -> [S3MultipartUpload] {
        try await withConnection { connection in
            try connection.query(
                "SELECT * FROM s3_multipart_uploads WHERE initiated_at < ? ORDER BY initiated_at LIMIT ?",
                [Self.time(time), .int(Int64(max(1, limit)))]
            ).map(Self.multipartUpload)
        }
    }

    // MARK: - whole-object digests

    public func objectsAwaitingDigest(limit: Int) async throws -> [S3ObjectName] {
        try await withConnection { connection in
            try connection.query(
                "SELECT bucket, object_key FROM s3_pending_object_digests ORDER BY queued_at LIMIT ?",
                [.int(Int64(max(1, limit)))]
            ).map { S3ObjectName(bucket: try Self.text($0, "bucket"), key: try Self.text($0, "object_key")) }
        }
    }

    public func claimObjectsAwaitingDigest(
        owner: String, now: Date, leaseUntil: Date, limit: Int
    ) async throws
        -> [S3ObjectName]
    {
        try await withConnection(transaction: true) { connection in
            // SKIP LOCKED: rows another gateway is claiming right now are passed over, not waited for.
            let names = try connection.query(
                """
                SELECT bucket, object_key FROM s3_pending_object_digests
                WHERE claimed_until IS NULL OR claimed_until <= ? ORDER BY queued_at LIMIT ?
                FOR UPDATE SKIP LOCKED
                """,
                [Self.time(now), .int(Int64(max(1, limit)))]
            ).map { S3ObjectName(bucket: try Self.text($0, "bucket"), key: try Self.text($0, "object_key")) }
            for name in names {
                _ = try connection.update(
                    "UPDATE s3_pending_object_digests SET claimed_by = ?, claimed_until = ? WHERE bucket = ? AND object_key = ?",
                    [.text(owner), Self.time(leaseUntil), .text(name.bucket), .text(name.key)])
            }
            return names
        }
    }

    public func holdObjectDigestClaim(bucket: String, key: String, owner: String, until time: Date) async throws {
        try await withConnection { connection in
            _ = try connection.update(
                "UPDATE s3_pending_object_digests SET claimed_until = ? WHERE bucket = ? AND object_key = ? AND claimed_by = ?",
                [Self.time(time), .text(bucket), .text(key), .text(owner)])
        }
    }

    public func recordObjectDigest(_ digest: SHA256Digest, bucket: String, key: String, etag: String) async throws -> Bool {
        try await withConnection(transaction: true) { connection in
            let binds: [MySQLValue] = [.text(bucket), .text(key)]
            guard
                try connection.update(
                    "UPDATE s3_objects SET sha256 = ? WHERE bucket = ? AND object_key = ? AND etag = ? AND sha256 = ''",
                    [.text(digest.hex)] + binds + [.text(etag)]) == 1
            else { return false }
            try connection.update("DELETE FROM s3_pending_object_digests WHERE bucket = ? AND object_key = ?", binds)
            return true
        }
    }

    public func objectRoles(of files: [FileKey]) async throws -> [FileKey: S3FileRole] {
        guard !files.isEmpty else { return [:] }
        return try await withConnection { connection in
            let rows = try connection.query(
                """
                SELECT o.*, s.file_key AS segment_file_key, s.segment AS segment_index
                FROM s3_object_segments s JOIN s3_objects o ON o.bucket = s.bucket AND o.object_key = s.object_key
                WHERE s.file_key IN (\(Array(repeating: "?", count: files.count).joined(separator: ", ")))
                """, files.map { .text($0.rawValue) })
            var roles: [FileKey: S3FileRole] = [:]
            for row in rows {
                guard let index = Self.integer(row, "segment_index") else {
                    throw MetadataError.corruptRow("s3_object_segments segment")
                }
                roles[try FileKey(validating: try Self.text(row, "segment_file_key"))] = S3FileRole(
                    object: try Self.objectRecord(row), segmentNumber: index + 1)
            }
            return roles
        }
    }

    // MARK: - within a transaction

    /// Records `object` in place of any of its name; returns the files the replaced one held.
    private static func replaceObject(
        _ connection: MySQLConnection, _ object: S3ObjectRecord, segments: [S3ObjectSegment]
    ) throws -> [FileKey] {
        let replaced = try dropObject(connection, bucket: object.bucket, key: object.key) ?? []
        try insertObject(connection, object, segments: segments)
        return replaced
    }

    /// Removes an object and its segments; returns their files, or nil when there was no such object.
    private static func dropObject(_ connection: MySQLConnection, bucket: String, key: String) throws -> [FileKey]? {
        let binds: [MySQLValue] = [.text(bucket), .text(key)]
        guard try !connection.query("SELECT 1 FROM s3_objects WHERE bucket = ? AND object_key = ? FOR UPDATE", binds).isEmpty
        else {
            return nil
        }
        let files = try connection.query(
            "SELECT file_key FROM s3_object_segments WHERE bucket = ? AND object_key = ? ORDER BY segment", binds
        ).map { try FileKey(validating: try Self.text($0, "file_key")) }
        try connection.update("DELETE FROM s3_object_segments WHERE bucket = ? AND object_key = ?", binds)
        try connection.update("DELETE FROM s3_objects WHERE bucket = ? AND object_key = ?", binds)
        try connection.update("DELETE FROM s3_pending_object_digests WHERE bucket = ? AND object_key = ?", binds)
        return files
    }

    private static func insertObject(_ connection: MySQLConnection, _ object: S3ObjectRecord, segments: [S3ObjectSegment]) throws
    {
        try connection.update(
            """
            INSERT INTO s3_objects (bucket, object_key, size_bytes, etag, content_type, metadata_json, checksums_json, sha256,
                last_modified, parts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                .text(object.bucket), .text(object.key), .int(object.sizeBytes), .text(object.etag),
                .text(object.contentType), .text(S3CatalogJSON.encode(object.metadata)),
                .text(S3CatalogJSON.encode(object.checksums)), .text(S3ObjectDigestColumn.text(object.sha256)),
                Self.time(object.lastModified), .int(Int64(object.parts)),
            ])
        if object.sha256 == nil {
            try connection.update(
                "INSERT INTO s3_pending_object_digests (bucket, object_key, queued_at) VALUES (?, ?, ?)",
                [.text(object.bucket), .text(object.key), Self.time(object.lastModified)])
        }
        for (index, segment) in segments.enumerated() {
            try connection.update(
                """
                INSERT INTO s3_object_segments (bucket, object_key, segment, file_key, offset_bytes, size_bytes)
                VALUES (?, ?, ?, ?, ?, ?)
                """,
                [
                    .text(object.bucket), .text(object.key), .int(Int64(index)), .text(segment.fileKey.rawValue),
                    .int(segment.offset), .int(segment.sizeBytes),
                ])
        }
    }

    /// Removes an upload and its parts; returns the parts' files, or nil when there was no such upload.
    private static func dropUpload(_ connection: MySQLConnection, _ uploadID: String) throws -> [FileKey]? {
        let id = MySQLValue.text(uploadID)
        guard try !connection.query("SELECT 1 FROM s3_multipart_uploads WHERE upload_id = ? FOR UPDATE", [id]).isEmpty else {
            return nil
        }
        let files = try connection.query(
            "SELECT file_key FROM s3_multipart_parts WHERE upload_id = ? ORDER BY part_number", [id]
        ).map { try FileKey(validating: try Self.text($0, "file_key")) }
        try connection.update("DELETE FROM s3_multipart_parts WHERE upload_id = ?", [id])
        try connection.update("DELETE FROM s3_multipart_uploads WHERE upload_id = ?", [id])
        return files
    }

    // MARK: - rows

    static func integer(_ row: MySQLRow, _ column: String) -> Int? { row[column].flatMap { Int($0) } }

    static func bucketRecord(_ row: MySQLRow) throws -> S3BucketRecord {
        S3BucketRecord(name: try text(row, "name"), createdAt: try date(row, "created_at"), owner: try text(row, "owner"))
    }

    static func objectRecord(_ row: MySQLRow) throws -> S3ObjectRecord {
        let sha256 = try S3ObjectDigestColumn.digest(try text(row, "sha256"))
        guard let size = Self.integer(row, "size_bytes") else { throw MetadataError.corruptRow("s3_objects size_bytes") }
        return S3ObjectRecord(
            bucket: try text(row, "bucket"), key: try text(row, "object_key"), sizeBytes: Int64(size),
            etag: try text(row, "etag"), contentType: try text(row, "content_type"),
            metadata: S3CatalogJSON.decode(try text(row, "metadata_json")),
            checksums: S3CatalogJSON.decode(try text(row, "checksums_json")), sha256: sha256,
            lastModified: try date(row, "last_modified"), parts: Self.integer(row, "parts") ?? 0)
    }

    static func objectSegment(_ row: MySQLRow) throws -> S3ObjectSegment {
        guard let offset = Self.integer(row, "offset_bytes"), let size = Self.integer(row, "size_bytes") else {
            throw MetadataError.corruptRow("s3_object_segments offset/size")
        }
        return S3ObjectSegment(
            fileKey: try FileKey(validating: try text(row, "file_key")), offset: Int64(offset), sizeBytes: Int64(size))
    }

    static func multipartUpload(_ row: MySQLRow) throws -> S3MultipartUpload {
        S3MultipartUpload(
            uploadID: try text(row, "upload_id"), bucket: try text(row, "bucket"), key: try text(row, "object_key"),
            initiatedAt: try date(row, "initiated_at"), contentType: try text(row, "content_type"),
            metadata: S3CatalogJSON.decode(try text(row, "metadata_json")),
            checksumAlgorithm: row["checksum_algorithm"], checksumType: row["checksum_type"])
    }

    static func partRecord(_ row: MySQLRow) throws -> S3PartRecord {
        guard let number = Self.integer(row, "part_number"), let size = Self.integer(row, "size_bytes"),
            let sha256 = SHA256Digest(hex: try text(row, "sha256"))
        else { throw MetadataError.corruptRow("s3_multipart_parts") }
        return S3PartRecord(
            uploadID: try text(row, "upload_id"), partNumber: number,
            fileKey: try FileKey(validating: try text(row, "file_key")), sizeBytes: Int64(size), etag: try text(row, "etag"),
            checksums: S3CatalogJSON.decode(try text(row, "checksums_json")), sha256: sha256,
            uploadedAt: try date(row, "uploaded_at"))
    }
}
