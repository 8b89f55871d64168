/// The storage-node HTTP API shared by the gateway, the nodes and the tests.
///
/// Routes (all under the node's base URL):
/// - `PUT /blobs/{key}`: stream a blob in; the node hashes while writing and answers `BlobPutResult`.
///   With `x-dfs-replicate-to: id=url,id=url` the node also streams the same bytes to those targets, in
///   parallel, and reports each target's outcome. With `x-dfs-expected-sha256` it refuses (422) to keep a
///   blob whose digest differs.
///   The answer carries the blob's block root (`BlobBlocks.root`), and `x-dfs-expected-block-root` refuses (422)
///   a body whose blocks differ.
/// - `GET /blobs/{key}` (with `Range`): the node reads whole blocks, checks each against the digests it recorded
///   when writing, and sends only verified bytes; a block that fails is never sent (422 `blob_corrupt` before the
///   answer head when it is the first, else the body ends early). The body is chunked and `x-dfs-content-length`
///   says how long it is when complete: a shorter one stopped before a damaged block. With `x-dfs-expected-sha256` and
///   `x-dfs-expected-block-root` it first checks that its copy is the one the caller recorded. The answer names
///   how it was verified (`x-dfs-verified`).
/// - `HEAD /blobs/{key}` (with `x-dfs-damaged-blocks` when reads found bad blocks), `DELETE /blobs/{key}`.
/// - `POST /blobs/{key}/verify` → `BlobVerification`: the node re-reads and re-hashes the whole blob block by block.
/// - `GET /health` → `NodeHealth`; `GET /inventory?after=&limit=` → `InventoryPage`.
public enum NodeProtocol {
    public static let replicateToHeader = "x-dfs-replicate-to"
    /// `DELETE /blobs/{key}?moved=true`: the copy moved elsewhere; the key may be put here again.
    public static let movedQueryItem = "moved"
    public static let expectedDigestHeader = "x-dfs-expected-sha256"
    public static let expectedBlockRootHeader = "x-dfs-expected-block-root"
    /// On a put with targets: abandon a target that makes no progress for this many milliseconds (the caller's own
    /// stall limit is shorter than the node's replication timeout, and one hung target must not stall the put).
    public static let replicaIdleLimitHeader = "x-dfs-replica-idle-limit-ms"
    /// On GET/HEAD answers: the digest the node computed when the blob was written.
    public static let checksumHeader = "x-checksum-sha256"
    /// On GET/HEAD answers: the root of the blob's block digests, when the node holds them.
    public static let blockRootHeader = "x-dfs-block-root"
    /// On GET answers: the bytes a complete body carries (the body itself is chunked, so it can end early).
    public static let contentLengthHeader = "x-dfs-content-length"
    /// On GET answers: how the node checked what it sends (`BlobReadVerification`).
    public static let verifiedHeader = "x-dfs-verified"
    /// On HEAD answers: blocks that reads found damaged, comma-separated indexes.
    public static let damagedBlocksHeader = "x-dfs-damaged-blocks"
    public static let nodeIDHeader = "x-dfs-node-id"

    public static func blobPath(_ key: FileKey) -> String { "/blobs/\(key.rawValue)" }
    public static func verifyPath(_ key: FileKey) -> String { "/blobs/\(key.rawValue)/verify" }

    /// Parses `x-dfs-damaged-blocks`; nil for a malformed value.
    public static func decodeBlockIndexes(_ header: String) -> [Int]? {
        let parts = header.split(separator: ",").map { $0.trimmingSpaces() }
        var indexes: [Int] = []
        for part in parts where !part.isEmpty {
            guard let index = Int(part), index >= 0 else { return nil }
            indexes.append(index)
        }
        return indexes
    }

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

/// How a node checked the bytes of a GET answer before sending them.
public enum BlobReadVerification: String, Sendable {
    /// Every block sent was read whole and matched its recorded digest.
    case blocks
    /// A blob without block digests (written by an older node), read whole: its SHA-256 was checked before the last
    /// chunk went out.
    case whole
}

/// What the caller recorded about a blob, sent with reads and verifications so a node refuses a copy that differs.
public struct BlobExpectation: Sendable, Equatable {
    public var digest: SHA256Digest
    /// Nil for files recorded before block digests existed.
    public var blockRoot: SHA256Digest?

    public init(digest: SHA256Digest, blockRoot: SHA256Digest?) {
        self.digest = digest
        self.blockRoot = blockRoot
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
    /// Bytes new blobs may still take: the file system's free space, within the capacity.
    public var freeBytes: Int64
    public var blobCount: Int
    /// What placement weighs the node by (`dfs-node --capacity`, else its file system's size); nil from a node
    /// that does not say.
    public var capacityBytes: Int64?
    /// Bytes held against the capacity: the blobs' with `--capacity`, else the file system's used bytes.
    public var usedBytes: Int64?
    /// The failure domain (`dfs-node --zone`); nil: the node's own.
    public var zone: String?
    /// Bytes of the node's own blobs, whatever else shares its file system: what rebalancing evens out.
    public var storedBytes: Int64?

    public init(
        status: String, nodeID: String, freeBytes: Int64, blobCount: Int, capacityBytes: Int64? = nil,
        usedBytes: Int64? = nil, zone: String? = nil, storedBytes: Int64? = nil
    ) {
        self.storedBytes = storedBytes
        self.status = status
        self.nodeID = nodeID
        self.freeBytes = freeBytes
        self.blobCount = blobCount
        self.capacityBytes = capacityBytes
        self.usedBytes = usedBytes
        self.zone = zone
    }

    enum CodingKeys: String, CodingKey {
        case status
        case nodeID = "node_id"
        case freeBytes = "free_bytes"
        case blobCount = "blob_count"
        case capacityBytes = "capacity_bytes"
        case usedBytes = "used_bytes"
        case zone
        case storedBytes = "stored_bytes"
    }
}

/// What one replication target did with the bytes the primary streamed to it.
public struct ReplicaOutcome: Codable, Sendable, Equatable {
    public var nodeID: String
    public var stored: Bool
    public var checksumSHA256: String?
    public var sizeBytes: Int64?
    /// The root of the block digests the target computed while writing.
    public var blockRoot: String?
    public var error: String?

    public init(
        nodeID: String, stored: Bool, checksumSHA256: String?, sizeBytes: Int64?, blockRoot: String? = nil, error: String?
    ) {
        self.nodeID = nodeID
        self.stored = stored
        self.checksumSHA256 = checksumSHA256
        self.sizeBytes = sizeBytes
        self.blockRoot = blockRoot
        self.error = error
    }

    enum CodingKeys: String, CodingKey {
        case nodeID = "node_id"
        case stored
        case checksumSHA256 = "checksum_sha256"
        case sizeBytes = "size_bytes"
        case blockRoot = "block_root"
        case error
    }
}

/// The answer to `PUT /blobs/{key}`.
public struct BlobPutResult: Codable, Sendable, Equatable {
    public var nodeID: String
    public var key: String
    public var sizeBytes: Int64
    public var checksumSHA256: String
    /// The root of the block digests the node computed while writing (`BlobBlocks.root`).
    public var blockRoot: String?
    public var replicas: [ReplicaOutcome]

    public init(
        nodeID: String, key: String, sizeBytes: Int64, checksumSHA256: String, blockRoot: String? = nil,
        replicas: [ReplicaOutcome]
    ) {
        self.nodeID = nodeID
        self.key = key
        self.sizeBytes = sizeBytes
        self.checksumSHA256 = checksumSHA256
        self.blockRoot = blockRoot
        self.replicas = replicas
    }

    enum CodingKeys: String, CodingKey {
        case nodeID = "node_id"
        case key
        case sizeBytes = "size_bytes"
        case checksumSHA256 = "checksum_sha256"
        case blockRoot = "block_root"
        case replicas
    }
}

/// The answer to `POST /blobs/{key}/verify`: the blob re-read and re-hashed block by block.
public struct BlobVerification: Codable, Sendable, Equatable {
    public var sizeBytes: Int64
    /// The whole-blob digest the node recorded when writing (nil if it lost it).
    public var checksumSHA256: String?
    /// The root of the node's block digests; nil when it has none it could trust.
    public var blockRoot: String?
    /// Blocks whose bytes no longer match their recorded digest, ascending.
    public var damagedBlocks: [Int]
    /// True when every byte matched and the copy is the one the caller expected.
    public var intact: Bool
    /// True when the node had no block digests for this blob (an older write) and recorded them during this check.
    public var blocksComputed: Bool
    /// Why the copy is not intact, for logs and queue items.
    public var problem: String?

    public init(
        sizeBytes: Int64, checksumSHA256: String?, blockRoot: String?, damagedBlocks: [Int], intact: Bool, blocksComputed: Bool,
        problem: String?
    ) {
        self.sizeBytes = sizeBytes
        self.checksumSHA256 = checksumSHA256
        self.blockRoot = blockRoot
        self.damagedBlocks = damagedBlocks
        self.intact = intact
        self.blocksComputed = blocksComputed
        self.problem = problem
    }

    enum CodingKeys: String, CodingKey {
        case sizeBytes = "size_bytes"
        case checksumSHA256 = "checksum_sha256"
        case blockRoot = "block_root"
        case damagedBlocks = "damaged_blocks"
        case intact
        case blocksComputed = "blocks_computed"
        case problem
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

/// The JSON error body every SwiftDFS HTTP service answers with.
public struct ErrorBody: Codable, Sendable, Equatable {
    public var error: String
    public var message: String

    public init(error: String, message: String) {
        self.error = error
        self.message = message
    }
}
