import DFSCore
import DFSMetadata
import Foundation
import Hummingbird

// The prototype's JSON field names live here and only here.

struct UploadResponse: ResponseEncodable {
    struct Replication: Encodable {
        var successful: [String]
        var failed: [String]
    }
    struct Replica: Encodable {
        var node_id: String
        @NullWhenAbsent var checksum_sha256: String?
        var verified: Bool
    }

    var success = true
    var message: String
    var file_id: String
    var file_key: String
    var original_filename: String
    var size_bytes: Int64
    var checksum_sha256: String
    var node_id: String
    var replication: Replication
    var routed_via = "naming-service"
    var selected_node: String
    @NullWhenAbsent var node_latency_ms: Double?
    var replicas: [Replica]
    var uploaded_at: String

    init(_ outcome: UploadOutcome) {
        message =
            outcome.failedOn.isEmpty
            ? "file stored with every replica verified" : "file stored; missing replicas are queued for repair"
        file_id = outcome.file.key.rawValue
        file_key = outcome.file.key.rawValue
        original_filename = outcome.file.originalFilename
        size_bytes = outcome.file.sizeBytes
        checksum_sha256 = outcome.file.checksum.hex
        node_id = outcome.primary.rawValue
        replication = Replication(successful: outcome.replicatedTo.map(\.rawValue), failed: outcome.failedOn.map(\.rawValue))
        selected_node = outcome.primary.rawValue
        node_latency_ms = outcome.primaryLatencyMs.map(roundedMs)
        replicas = outcome.replicas.map {
            Replica(node_id: $0.nodeID.rawValue, checksum_sha256: $0.digest?.hex, verified: $0.isVerified)
        }
        uploaded_at = MetadataTime.format(outcome.file.uploadedAt)
    }
}

struct FileSummaryDTO: Encodable {
    var file_key: String
    var original_filename: String
    var size_bytes: Int64
    var checksum_sha256: String
    var uploaded_at: String
    var replicas: [String]
    /// The S3 object whose bytes (or one part of them) the file holds; absent for `/upload` files.
    var bucket: String?
    var object_key: String?
    /// The whole object's size and SHA-256 (the file's own for a single-part object; a multipart object's SHA-256
    /// is absent until it has been read once after completion, seconds later).
    var object_size_bytes: Int64?
    var object_sha256: String?
    /// For one part of a multipart object: its place among the object's `object_parts`.
    var part_number: Int?
    var object_parts: Int?

    init(_ entry: FileEntry, role: S3FileRole? = nil) {
        file_key = entry.file.key.rawValue
        original_filename = entry.file.originalFilename
        size_bytes = entry.file.sizeBytes
        checksum_sha256 = entry.file.checksum.hex
        uploaded_at = MetadataTime.format(entry.file.uploadedAt)
        replicas = entry.verifiedReplicas.map(\.rawValue)
        bucket = entry.file.s3Object?.bucket
        object_key = entry.file.s3Object?.key
        if let role {
            object_size_bytes = role.object.sizeBytes
            object_sha256 = role.object.sha256?.hex
            if role.object.parts > 0 {
                part_number = role.segmentNumber
                object_parts = role.object.parts
            }
        }
    }
}

struct FileListResponse: ResponseEncodable {
    var files: [FileSummaryDTO]
    var count: Int
    /// Cursor for the next page (`?after=`), absent on the last page.
    @NullWhenAbsent var next_after: String?
}

/// `GET /files/{key}/download-link`: a URL relative to the gateway that downloads the file without a key until
/// `expires_at`.
struct DownloadLinkResponse: ResponseEncodable {
    var url: String
    var expires_at: String

    init(_ link: DownloadLink) {
        url = link.path
        expires_at = MetadataTime.format(link.expiresAt)
    }
}

/// `GET /files/{key}`: the file's `FileSummaryDTO` fields (one JSON object, not nested) and where its copies are.
struct FileDetailResponse: ResponseEncodable {
    struct Location: Encodable {
        var node_id: String
        var status: String
        @NullWhenAbsent var last_verified_at: String?
    }
    struct Placement: Encodable {
        @NullWhenAbsent var block_root: String?
        var locations: [Location]
    }
    var summary: FileSummaryDTO
    var placement: Placement

    init(_ entry: FileEntry, role: S3FileRole? = nil) {
        summary = FileSummaryDTO(entry, role: role)
        placement = Placement(
            block_root: entry.file.blockRoot?.hex,
            locations: entry.locations.map {
                Location(
                    node_id: $0.nodeID.rawValue, status: $0.status.rawValue,
                    last_verified_at: $0.lastVerifiedAt.map(MetadataTime.format))
            })
    }

    func encode(to encoder: any Encoder) throws {
        // Both write into the one keyed container of the response object.
        try summary.encode(to: encoder)
        try placement.encode(to: encoder)
    }
}

struct DeleteResponse: ResponseEncodable {
    var success = true
    var file_key: String
    var deleted_from: [String]
    var failed: [String]
    var total_nodes: Int
    var deleted_nodes: Int

    init(_ outcome: DeleteOutcome) {
        file_key = outcome.key.rawValue
        deleted_from = outcome.deletedFrom.map(\.rawValue)
        failed = outcome.pendingOn.map(\.rawValue)
        total_nodes = outcome.deletedFrom.count + outcome.pendingOn.count
        deleted_nodes = outcome.deletedFrom.count
    }
}

struct NodeStatusDTO: Encodable {
    var id: String
    var address: String
    var status: String
    var role: String
    @NullWhenAbsent var last_heartbeat: String?
    @NullWhenAbsent var latency_ms: Double?
    var in_flight: Int
    /// Passive health: taken out of selection after `--eject-after` consecutive failures, until a probe succeeds.
    var ejected: Bool
    /// From the node's last answered probe (kept while it is DOWN).
    @NullWhenAbsent var free_bytes: Int64?
    @NullWhenAbsent var blob_count: Int?
    /// Placement (SPEC §10): the node's failure domain (its own id when it names none), what it may hold and what
    /// it holds, from its last answered probe.
    var zone: String
    @NullWhenAbsent var capacity_bytes: Int64?
    @NullWhenAbsent var used_bytes: Int64?
    /// Lifecycle (SPEC §10): ACTIVE, DRAINING or DRAINED.
    var state: String
}

/// The answer of `POST /nodes/{id}/drain` and `/activate`: the node's state now.
struct NodeLifecycleResponse: ResponseEncodable {
    var node_id: String
    var state: String
    var message: String

    init(_ record: NodeRecord) {
        node_id = record.id.rawValue
        state = record.state.rawValue
        switch record.state {
        case .active: message = "\(record.id) takes new copies"
        case .draining: message = "\(record.id) is draining: its copies are being re-made elsewhere; it becomes DRAINED when done"
        case .drained: message = "\(record.id) is drained: DELETE /nodes/\(record.id) removes it"
        }
    }
}

struct NodeRemovedResponse: ResponseEncodable {
    var node_id: String
    var removed: Bool
}

struct NodeCheckResponse: ResponseEncodable {
    struct Node: Encodable {
        var id: String
        var address: String
        var status: String
        @NullWhenAbsent var latency_ms: Double?
        @NullWhenAbsent var free_bytes: Int64?
        @NullWhenAbsent var blob_count: Int?
        @NullWhenAbsent var error: String?
    }
    var checked_at: String
    var nodes: [Node]
}

struct QueueItemDTO: Encodable {
    var id: Int64
    var file_key: String
    var target_node_id: String
    @NullWhenAbsent var source_node_id: String?
    var kind: String
    var status: String
    var retry_count: Int
    @NullWhenAbsent var last_attempt: String?
    var created_at: String
    @NullWhenAbsent var completed_at: String?
    @NullWhenAbsent var next_attempt_at: String?
    @NullWhenAbsent var error_message: String?

    init(_ item: QueueItem) {
        id = item.id
        file_key = item.fileKey.rawValue
        target_node_id = item.targetNodeID.rawValue
        source_node_id = item.sourceNodeID?.rawValue
        kind = item.kind.rawValue
        status = item.status.rawValue
        retry_count = item.retryCount
        last_attempt = item.lastAttempt.map(MetadataTime.format)
        created_at = MetadataTime.format(item.createdAt)
        completed_at = item.completedAt.map(MetadataTime.format)
        next_attempt_at = item.nextAttemptAt.map(MetadataTime.format)
        error_message = item.errorMessage
    }
}

struct QueueResponse: ResponseEncodable {
    var items: [QueueItemDTO]
    var count: Int
}

struct RecoverResponse: ResponseEncodable {
    var message: String
    var node_id: String
    var total: Int
    var success: Int
    var failed: Int
    var pending_items: Int
}

struct HealthResponse: ResponseEncodable {
    var status = "UP"
    var service = "naming-service"
    var nodes_up: Int
    var nodes_total: Int
    var replicas: Int
}

struct RegisterNodeRequest: Decodable {
    var id: String
    var address: String
    var role: String?
}

func roundedMs(_ value: Double) -> Double { (value * 100).rounded() / 100 }

/// An optional field that is written as JSON `null` when absent, where Swift's synthesized coding would leave the
/// key out: answers keep the prototype's shapes whole.
@propertyWrapper
struct NullWhenAbsent<Wrapped: Encodable>: Encodable {
    var wrappedValue: Wrapped?

    init(wrappedValue: Wrapped?) { self.wrappedValue = wrappedValue }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        if let wrappedValue { try container.encode(wrappedValue) } else { try container.encodeNil() }
    }
}
