import DFSCore
import Foundation

/// A node's health as the gateway last saw it.
public enum NodeStatus: String, Sendable, Codable {
    case up = "UP"
    case down = "DOWN"
}

/// Where a node is in its lifecycle (SPEC §10): only an ACTIVE node takes new copies.
public enum NodeState: String, Sendable, Codable, CaseIterable {
    case active = "ACTIVE"
    /// Taking no new copies while the copies it holds are re-made elsewhere.
    case draining = "DRAINING"
    /// Holds nothing anyone needs: may be removed.
    case drained = "DRAINED"
}

/// A row of `nodes`.
public struct NodeRecord: Sendable, Equatable {
    public var id: NodeID
    public var address: String
    public var status: NodeStatus
    public var role: NodeRole
    public var latencyMs: Double?
    public var lastHeartbeat: Date?
    public var statusChangedAt: Date?
    public var state: NodeState

    public init(
        id: NodeID, address: String, status: NodeStatus, role: NodeRole, latencyMs: Double? = nil,
        lastHeartbeat: Date? = nil, statusChangedAt: Date? = nil, state: NodeState = .active
    ) {
        self.state = state
        self.id = id
        self.address = address
        self.status = status
        self.role = role
        self.latencyMs = latencyMs
        self.lastHeartbeat = lastHeartbeat
        self.statusChangedAt = statusChangedAt
    }
}

/// A row of `files`: what a client uploaded.
public struct FileRecord: Sendable, Equatable {
    public var key: FileKey
    public var originalFilename: String
    public var sizeBytes: Int64
    public var checksum: SHA256Digest
    public var uploadedAt: Date
    /// The root over the file's block digests (`BlobBlocks.root`) as the gateway computed it from the client's
    /// stream; nil for files recorded before block digests existed, until a node computed them for a verified copy.
    public var blockRoot: SHA256Digest?
    /// The S3 object this file holds the bytes of (all of them, or one part), nil for a `/upload` file.
    public var s3Object: S3ObjectName?

    public init(
        key: FileKey, originalFilename: String, sizeBytes: Int64, checksum: SHA256Digest, uploadedAt: Date,
        blockRoot: SHA256Digest? = nil, s3Object: S3ObjectName? = nil
    ) {
        self.s3Object = s3Object
        self.key = key
        self.originalFilename = originalFilename
        self.sizeBytes = sizeBytes
        self.checksum = checksum
        self.uploadedAt = uploadedAt
        self.blockRoot = blockRoot
    }

    /// What a node's copy must be to count: the caller's side of every read and verification.
    public var expectation: BlobExpectation { BlobExpectation(digest: checksum, blockRoot: blockRoot) }
}

/// A bucket and key of the S3 API.
public struct S3ObjectName: Sendable, Equatable, Hashable {
    public var bucket: String
    public var key: String

    public init(bucket: String, key: String) {
        self.bucket = bucket
        self.key = key
    }
}

/// State of one replica of a file on one node.
public enum LocationStatus: String, Sendable, Codable {
    /// Holds a copy whose digest the gateway verified.
    case active = "ACTIVE"
    /// Removed because the file was deleted.
    case deleted = "DELETED"
    /// Found with a wrong digest; not served, queued for repair.
    case corrupt = "CORRUPT"
    /// Expected but absent on the node; queued for repair.
    case missing = "MISSING"
}

/// A row of `file_locations`.
public struct FileLocation: Sendable, Equatable {
    public var nodeID: NodeID
    public var status: LocationStatus
    public var lastVerifiedAt: Date?

    public init(nodeID: NodeID, status: LocationStatus, lastVerifiedAt: Date?) {
        self.nodeID = nodeID
        self.status = status
        self.lastVerifiedAt = lastVerifiedAt
    }
}

/// One page of a file listing: the files, newest first, and the cursor the next page starts from.
public struct FilePage: Sendable, Equatable {
    /// Sequence numbers a search without an index examines per page: about 20-30 ms of SQLite's scan on this
    /// machine, so a page stays interactive however many files the store holds.
    public static let unindexedScanSpan: Int64 = 20_000

    public var entries: [FileEntry]
    /// The `before` of the next page; nil when nothing older is left. A page of a bounded scan can hold fewer files
    /// than asked, or none, and still have a next one.
    public var nextBefore: Int64?

    public init(entries: [FileEntry], nextBefore: Int64?) {
        self.entries = entries
        self.nextBefore = nextBefore
    }

    /// The page from rows fetched with `LIMIT limit + 1`, newest first, of a scan that stopped above `scanFloor`
    /// (sequence numbers below it were not examined; nil when the scan reached the oldest file).
    static func fromRows(_ rows: [FileEntry], limit: Int, scanFloor: Int64?) -> FilePage {
        if rows.count > limit {
            let page = Array(rows.prefix(limit))
            return FilePage(entries: page, nextBefore: page.last?.sequence)
        }
        return FilePage(entries: rows, nextBefore: scanFloor)
    }
}

/// A file with its replicas.
public struct FileEntry: Sendable, Equatable {
    public var file: FileRecord
    public var locations: [FileLocation]
    /// Position in insertion order: the paging cursor of `GET /files`.
    public var sequence: Int64

    public init(file: FileRecord, locations: [FileLocation], sequence: Int64) {
        self.file = file
        self.locations = locations
        self.sequence = sequence
    }

    /// Nodes holding a verified copy, in node-id order.
    public var verifiedReplicas: [NodeID] {
        locations.filter { $0.status == .active }.map(\.nodeID).sorted()
    }

    /// Nodes whose copy was found damaged: nodes check every block they send, so these can still serve the blocks
    /// that are intact, as a last resort when no verified copy can.
    public var damagedReplicas: [NodeID] {
        locations.filter { $0.status == .corrupt }.map(\.nodeID).sorted()
    }
}

/// A live file a node holds, as the re-replication planner pages through them.
public struct HeldFile: Sendable, Equatable {
    public var entry: FileEntry
    /// Nodes a copy is queued for (PENDING or IN_PROGRESS REPLICATE items).
    public var comingTo: Set<NodeID>

    public init(entry: FileEntry, comingTo: Set<NodeID>) {
        self.entry = entry
        self.comingTo = comingTo
    }
}

/// What a queue item asks for.
public enum QueueItemKind: String, Sendable, Codable {
    case replicate = "REPLICATE"
    case delete = "DELETE"
}

/// The prototype's queue states, plus CANCELLED for items of files deleted meanwhile.
public enum QueueItemStatus: String, Sendable, Codable, CaseIterable {
    case pending = "PENDING"
    case inProgress = "IN_PROGRESS"
    case completed = "COMPLETED"
    case failed = "FAILED"
    case cancelled = "CANCELLED"
}

/// A row of `replication_queue`.
public struct QueueItem: Sendable, Equatable {
    public var id: Int64
    public var fileKey: FileKey
    public var targetNodeID: NodeID
    public var sourceNodeID: NodeID?
    public var kind: QueueItemKind
    public var status: QueueItemStatus
    public var retryCount: Int
    public var lastAttempt: Date?
    public var createdAt: Date
    public var completedAt: Date?
    public var errorMessage: String?
    public var nextAttemptAt: Date?

    public init(
        id: Int64, fileKey: FileKey, targetNodeID: NodeID, sourceNodeID: NodeID?, kind: QueueItemKind,
        status: QueueItemStatus, retryCount: Int, lastAttempt: Date?, createdAt: Date, completedAt: Date?,
        errorMessage: String?, nextAttemptAt: Date?
    ) {
        self.id = id
        self.fileKey = fileKey
        self.targetNodeID = targetNodeID
        self.sourceNodeID = sourceNodeID
        self.kind = kind
        self.status = status
        self.retryCount = retryCount
        self.lastAttempt = lastAttempt
        self.createdAt = createdAt
        self.completedAt = completedAt
        self.errorMessage = errorMessage
        self.nextAttemptAt = nextAttemptAt
    }
}

/// A queue item to create.
public struct NewQueueItem: Sendable, Equatable {
    public var fileKey: FileKey
    public var targetNodeID: NodeID
    public var sourceNodeID: NodeID?
    public var kind: QueueItemKind
    public var reason: String?

    public init(fileKey: FileKey, targetNodeID: NodeID, sourceNodeID: NodeID?, kind: QueueItemKind, reason: String?) {
        self.fileKey = fileKey
        self.targetNodeID = targetNodeID
        self.sourceNodeID = sourceNodeID
        self.kind = kind
        self.reason = reason
    }
}

/// Filter for listing the queue.
public struct QueueFilter: Sendable, Equatable {
    public var status: QueueItemStatus?
    public var targetNodeID: NodeID?
    public var limit: Int

    public init(status: QueueItemStatus? = nil, targetNodeID: NodeID? = nil, limit: Int = 1000) {
        self.status = status
        self.targetNodeID = targetNodeID
        self.limit = limit
    }
}

/// Errors of the metadata layer.
public enum MetadataError: Error, Sendable, CustomStringConvertible {
    case fileAlreadyExists(FileKey)
    case unavailable(String)
    case corruptRow(String)
    case migrationFailed(version: Int, reason: String)

    public var description: String {
        switch self {
        case .fileAlreadyExists(let key): return "file \(key) already exists"
        case .unavailable(let reason): return "metadata store unavailable: \(reason)"
        case .corruptRow(let reason): return "unreadable metadata row: \(reason)"
        case .migrationFailed(let version, let reason): return "schema migration \(version) failed: \(reason)"
        }
    }
}

/// Whether a key names a live file or a deleted one (its tombstone); keys of neither are unknown.
public enum FileState: String, Sendable, Equatable {
    case live
    case deleted
}

/// How far the store is from the replication factor, for `GET /status/replication`.
public struct ReplicationSummary: Sendable, Equatable {
    /// Live files with fewer ACTIVE locations than the factor, and their total size.
    public var underReplicatedFiles: Int
    public var underReplicatedBytes: Int64
    /// When the oldest still-open REPLICATE item (PENDING, IN_PROGRESS or FAILED) was queued.
    public var oldestMissingSince: Date?
    /// Queue items per status, every status present (zero when none).
    public var queueCounts: [QueueItemStatus: Int]

    public init(
        underReplicatedFiles: Int, underReplicatedBytes: Int64, oldestMissingSince: Date?, queueCounts: [QueueItemStatus: Int]
    ) {
        self.underReplicatedFiles = underReplicatedFiles
        self.underReplicatedBytes = underReplicatedBytes
        self.oldestMissingSince = oldestMissingSince
        self.queueCounts = queueCounts
    }
}

/// One upload to record, as both stores queue it for a group commit: the file, the nodes holding verified copies,
/// and the copies still to make.
public struct UploadRecord: Sendable {
    public var file: FileRecord
    public var nodes: [NodeID]
    public var verifiedAt: Date
    public var queue: [NewQueueItem]

    public init(file: FileRecord, nodes: [NodeID], verifiedAt: Date, queue: [NewQueueItem]) {
        self.file = file
        self.nodes = nodes
        self.verifiedAt = verifiedAt
        self.queue = queue
    }
}
