import DFSCore
import Foundation

/// Value encoding and row → domain decoding for the MySQL driver; a row that does not decode is reported, never guessed.
extension MySQLMetadataStore {
    /// A DATETIME(3) literal in UTC (`2026-11-27 07:16:29.123`): MetadataTime's format without `T` and `Z`,
    /// which strict mode would refuse.
    static func time(_ date: Date) -> MySQLValue {
        var text = MetadataTime.format(date)
        text.removeLast()
        return .text(text.replacingOccurrences(of: "T", with: " "))
    }

    static func text(_ row: MySQLRow, _ column: String) throws -> String {
        guard let value = row[column] else { throw MetadataError.corruptRow("\(column) is missing") }
        return value
    }

    static func optionalDate(_ row: MySQLRow, _ column: String) -> Date? {
        row[column].flatMap(MetadataTime.parse)
    }

    static func date(_ row: MySQLRow, _ column: String) throws -> Date {
        guard let date = optionalDate(row, column) else { throw MetadataError.corruptRow("\(column) is not a timestamp") }
        return date
    }

    static func nodeRecord(_ row: MySQLRow) throws -> NodeRecord {
        guard let status = NodeStatus(rawValue: try text(row, "status")), let role = NodeRole(rawValue: try text(row, "role")),
            let state = NodeState(rawValue: try text(row, "state"))
        else {
            throw MetadataError.corruptRow("node status/role/state")
        }
        return NodeRecord(
            id: try NodeID(validating: try text(row, "id")), address: try text(row, "address"), status: status, role: role,
            latencyMs: row["latency_ms"].flatMap(Double.init), lastHeartbeat: optionalDate(row, "last_heartbeat"),
            statusChangedAt: optionalDate(row, "status_changed_at"), state: state)
    }

    static func fileLocation(_ row: MySQLRow) throws -> FileLocation {
        guard let status = LocationStatus(rawValue: try text(row, "status")) else {
            throw MetadataError.corruptRow("location status")
        }
        return FileLocation(
            nodeID: try NodeID(validating: try text(row, "node_id")), status: status,
            lastVerifiedAt: optionalDate(row, "last_verified_at"))
    }

    static func fileEntry(_ row: MySQLRow, locations: [FileLocation]) throws -> FileEntry {
        guard let digest = SHA256Digest(hex: try text(row, "checksum_sha256")),
            let size = row["size_bytes"].flatMap({ Int64($0) }),
            let sequence = row["seq"].flatMap({ Int64($0) })
        else { throw MetadataError.corruptRow("file row") }
        let file = FileRecord(
            key: try FileKey(validating: try text(row, "file_key")), originalFilename: try text(row, "original_filename"),
            sizeBytes: size, checksum: digest, uploadedAt: try date(row, "uploaded_at"),
            blockRoot: try SQLiteMetadataStore.blockRoot(row["block_root"]),
            s3Object: row["s3_bucket"].flatMap { bucket in row["s3_object_key"].map { S3ObjectName(bucket: bucket, key: $0) } })
        return FileEntry(file: file, locations: locations, sequence: sequence)
    }

    static func queueItem(_ row: MySQLRow) throws -> QueueItem {
        guard let id = row["id"].flatMap({ Int64($0) }), let kind = QueueItemKind(rawValue: try text(row, "kind")),
            let status = QueueItemStatus(rawValue: try text(row, "status"))
        else { throw MetadataError.corruptRow("queue row") }
        return QueueItem(
            id: id, fileKey: try FileKey(validating: try text(row, "file_key")),
            targetNodeID: try NodeID(validating: try text(row, "target_node_id")),
            sourceNodeID: try row["source_node_id"].map(NodeID.init(validating:)),
            kind: kind, status: status, retryCount: row["retry_count"].flatMap { Int($0) } ?? 0,
            lastAttempt: optionalDate(row, "last_attempt"), createdAt: try date(row, "created_at"),
            completedAt: optionalDate(row, "completed_at"), errorMessage: row["error_message"],
            nextAttemptAt: optionalDate(row, "next_attempt_at"))
    }
}
