/// The storage-node HTTP API shared by the gateway, the nodes and the tests (SPEC §3).
///
/// Routes (all under the node's base URL):
/// - `PUT /blobs/{key}`: stream a blob in; the node hashes while writing and answers `BlobPutResult`.
///   With `x-dfs-replicate-to: id=url,id=url` the node also streams the same bytes to those targets, in
///   parallel, and reports each target's outcome. With `x-dfs-expected-sha256` it refuses (422) to keep a
///   blob whose digest differs.
/// - `GET /blobs/{key}` (with `Range`), `HEAD /blobs/{key}`, `DELETE /blobs/{key}`.
/// - `GET /health` → `NodeHealth`; `GET /inventory?after=&limit=` → `InventoryPage`.
public enum NodeProtocol {
    public static let replicateToHeader = "x-dfs-replicate-to"
    public static let expectedDigestHeader = "x-dfs-expected-sha256"
    /// On GET/HEAD answers: the digest the node computed when the blob was written.
    public static let checksumHeader = "x-checksum-sha256"
    public static let nodeIDHeader = "x-dfs-node-id"

    public static func blobPath(_ key: FileKey) -> String { "/blobs/\(key.rawValue)" }

    /// Encodes replication targets for `x-dfs-replicate-to`.
    public static func encodeTargets(_ targets: [NodeEndpoint]) -> String {
        targets.map { "\($0.id.rawValue)=\($0.baseURL)" }.joined(separator: ",")
    }

    /// Decodes `x-dfs-replicate-to`; throws on a malformed entry rather than silently dropping a target.
    public static func decodeTargets(_ header: String) throws -> [NodeEndpoint] {
        try header.split(separator: ",").map { entry in
            guard let equals = entry.firstIndex(of: "=") else {
                throw KeyValidationError(description: "replication target '\(entry)' is not id=url")
            }
            let id = try NodeID(validating: entry[..<equals].trimmingSpaces())
            let url = entry[entry.index(after: equals)...].trimmingSpaces()
            guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
                throw KeyValidationError(description: "replication target URL '\(url)' is not http(s)")
            }
            return NodeEndpoint(id: id, baseURL: url)
        }
    }
}

/// Where a node listens.
public struct NodeEndpoint: Hashable, Sendable, Codable {
    public let id: NodeID
    /// `http://host:port`, no trailing slash.
    public let baseURL: String

    public init(id: NodeID, baseURL: String) {
        self.id = id
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
    }
}

/// The prototype's node roles.
public enum NodeRole: String, Sendable, Codable, CaseIterable {
    case main = "MAIN"
    case replica = "REPLICA"
    case backup = "BACKUP"

    /// `node-1` is MAIN, `node-2` REPLICA, the rest BACKUP, as the prototype numbered them.
    public static func defaultRole(forIndex index: Int) -> NodeRole {
        switch index {
        case 0: return .main
        case 1: return .replica
        default: return .backup
        }
    }
}

/// `GET /health` of a node.
public struct NodeHealth: Codable, Sendable, Equatable {
    public var status: String
    public var nodeID: String
    public var freeBytes: Int64
    public var blobCount: Int

    public init(status: String, nodeID: String, freeBytes: Int64, blobCount: Int) {
        self.status = status
        self.nodeID = nodeID
        self.freeBytes = freeBytes
        self.blobCount = blobCount
    }

    enum CodingKeys: String, CodingKey {
        case status
        case nodeID = "node_id"
        case freeBytes = "free_bytes"
        case blobCount = "blob_count"
    }
}

/// What one replication target did with the bytes the primary streamed to it.
public struct ReplicaOutcome: Codable, Sendable, Equatable {
    public var nodeID: String
    public var stored: Bool
    public var checksumSHA256: String?
    public var sizeBytes: Int64?
    public var error: String?

    public init(nodeID: String, stored: Bool, checksumSHA256: String?, sizeBytes: Int64?, error: String?) {
        self.nodeID = nodeID
        self.stored = stored
        self.checksumSHA256 = checksumSHA256
        self.sizeBytes = sizeBytes
        self.error = error
    }

    enum CodingKeys: String, CodingKey {
        case nodeID = "node_id"
        case stored
        case checksumSHA256 = "checksum_sha256"
        case sizeBytes = "size_bytes"
        case error
    }
}

/// The answer to `PUT /blobs/{key}`.
public struct BlobPutResult: Codable, Sendable, Equatable {
    public var nodeID: String
    public var key: String
    public var sizeBytes: Int64
    public var checksumSHA256: String
    public var replicas: [ReplicaOutcome]

    public init(nodeID: String, key: String, sizeBytes: Int64, checksumSHA256: String, replicas: [ReplicaOutcome]) {
        self.nodeID = nodeID
        self.key = key
        self.sizeBytes = sizeBytes
        self.checksumSHA256 = checksumSHA256
        self.replicas = replicas
    }

    enum CodingKeys: String, CodingKey {
        case nodeID = "node_id"
        case key
        case sizeBytes = "size_bytes"
        case checksumSHA256 = "checksum_sha256"
        case replicas
    }
}

/// One entry of a node's inventory.
public struct InventoryEntry: Codable, Sendable, Equatable {
    public var key: String
    public var sizeBytes: Int64
    public var modifiedAt: Double

    public init(key: String, sizeBytes: Int64, modifiedAt: Double) {
        self.key = key
        self.sizeBytes = sizeBytes
        self.modifiedAt = modifiedAt
    }

    enum CodingKeys: String, CodingKey {
        case key
        case sizeBytes = "size_bytes"
        case modifiedAt = "modified_at"
    }
}

/// `GET /inventory` answer: keys in ascending order; `nextAfter` is the cursor for the next page.
public struct InventoryPage: Codable, Sendable, Equatable {
    public var blobs: [InventoryEntry]
    public var nextAfter: String?

    public init(blobs: [InventoryEntry], nextAfter: String?) {
        self.blobs = blobs
        self.nextAfter = nextAfter
    }

    enum CodingKeys: String, CodingKey {
        case blobs
        case nextAfter = "next_after"
    }
}

/// The JSON error body every SwiftDFS HTTP service answers with (SPEC §2.3).
public struct ErrorBody: Codable, Sendable, Equatable {
    public var error: String
    public var message: String

    public init(error: String, message: String) {
        self.error = error
        self.message = message
    }
}
