import DFSCore
import Foundation
import SQLiteNIO

/// Row → domain decoding for the SQLite driver; a row that does not decode is reported, never guessed.
extension SQLiteMetadataStore {
    static func text(_ row: SQLiteRow, _ column: String) throws -> String {
        guard let value = row.column(column)?.string else { throw MetadataError.corruptRow("\(column) is missing") }
        return value
    }

    static func optionalDate(_ row: SQLiteRow, _ column: String) -> Date? {
        row.column(column)?.string.flatMap(MetadataTime.parse)
    }

    static func date(_ row: SQLiteRow, _ column: String) throws -> Date {
        guard let date = optionalDate(row, column) else { throw MetadataError.corruptRow("\(column) is not a timestamp") }
        return date
    }

    /// A `block_root` value: NULL is none, anything else must be a digest.
    static func blockRoot(_ text: String?) throws -> SHA256Digest? {
        guard let text else { return nil }
        guard let root = SHA256Digest(hex: text) else { throw MetadataError.corruptRow("block_root is not a digest") }
        return root
    }

    static func nodeRecord(_ row: SQLiteRow) throws -> NodeRecord {
        guard let status = NodeStatus(rawValue: try text(row, "status")), let role = NodeRole(rawValue: try text(row, "role")),
            let state = NodeState(rawValue: try text(row, "state"))
        else {
            throw MetadataError.corruptRow("node status/role/state")
        }
        return NodeRecord(
            id: try NodeID(validating: try text(row, "id")), address: try text(row, "address"), status: status, role: role,
            latencyMs: row.column("latency_ms")?.double, lastHeartbeat: optionalDate(row, "last_heartbeat"),
            statusChangedAt: optionalDate(row, "status_changed_at"), state: state)
    }

    static func fileLocation(_ row: SQLiteRow) throws -> FileLocation {
        guard let status = LocationStatus(rawValue: try text(row, "status")) else {
            throw MetadataError.corruptRow("location status")
        }
        return FileLocation(
            nodeID: try NodeID(validating: try text(row, "node_id")), status: status,
            lastVerifiedAt: optionalDate(row, "last_verified_at"))
    }

    static func fileEntry(_ row: SQLiteRow, locations: [FileLocation]) throws -> FileEntry {
        guard let digest = SHA256Digest(hex: try text(row, "checksum_sha256")), let size = row.column("size_bytes")?.integer,
            let sequence = row.column("seq")?.integer
        else { throw MetadataError.corruptRow("file row") }
        let file = FileRecord(
            key: try FileKey(validating: try text(row, "file_key")), originalFilename: try text(row, "original_filename"),
            sizeBytes: Int64(size), checksum: digest, uploadedAt: try date(row, "uploaded_at"),
            blockRoot: try blockRoot(row.column("block_root")?.string),
            s3Object: row.column("s3_bucket")?.string.flatMap { bucket in
                row.column("s3_object_key")?.string.map { S3ObjectName(bucket: bucket, key: $0) }
            })
        return FileEntry(file: file, locations: locations, sequence: Int64(sequence))
    }

    static func queueItem(_ row: SQLiteRow) throws -> QueueItem {
        guard let id = row.column("id")?.integer, let kind = QueueItemKind(rawValue: try text(row, "kind")),
            let status = QueueItemStatus(rawValue: try text(row, "status"))
        else { throw MetadataError.corruptRow("queue row") }
        return QueueItem(
            id: Int64(id), fileKey: try FileKey(validating: try text(row, "file_key")),
            targetNodeID: try NodeID(validating: try text(row, "target_node_id")),
            sourceNodeID: try row.column("source_node_id")?.string.map(NodeID.init(validating:)),
            kind: kind, status: status, retryCount: row.column("retry_count")?.integer ?? 0,
            lastAttempt: optionalDate(row, "last_attempt"), createdAt: try date(row, "created_at"),
            completedAt: optionalDate(row, "completed_at"), errorMessage: row.column("error_message")?.string,
            nextAttemptAt: optionalDate(row, "next_attempt_at"))
    }
}
