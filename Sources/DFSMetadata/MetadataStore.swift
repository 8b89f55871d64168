import DFSCore
import Foundation

/// The gateway's durable state, as domain operations. One protocol, one driver per database.
///
/// Every method is atomic: a method that writes several rows does so in one transaction.
public protocol MetadataStore: Sendable {
    /// Inserts the node or updates its address and role; status and latency are kept.
    func registerNode(id: NodeID, address: String, role: NodeRole) async throws
    /// All nodes, ordered by id.
    func nodes() async throws -> [NodeRecord]
    /// Records a probe result; `statusChangedAt` moves only when the status changes.
    func recordProbe(of node: NodeID, status: NodeStatus, latencyMs: Double?, at time: Date) async throws
    /// Moves `node` to `state` (drain, activate, drained); false when no such node is known.
    func setNodeState(_ node: NodeID, to state: NodeState) async throws -> Bool
    /// Forgets `node`: its row, its location rows (a copy still ACTIVE there no longer counts, so placement re-makes
    /// it elsewhere) and its live queue items (CANCELLED). False when no such node is known.
    func removeNode(_ node: NodeID, at time: Date) async throws -> Bool
    /// One page of the live files `node` holds a verified copy of, keys ascending after `after`, each with its
    /// locations and the targets of its live REPLICATE items: a fixed number of queries per page at any store size.
    func heldFiles(on node: NodeID, after: FileKey?, limit: Int) async throws -> [HeldFile]
    /// Marks `node`'s copy of `key` DELETED, in one transaction with the check that at least `keepingAtLeast`
    /// other verified copies remain; false (nothing changed) otherwise. Several gateways may rebalance at once:
    /// this is what keeps two of them from retiring two copies of a file that only has one to spare.
    func retireCopy(_ key: FileKey, on node: NodeID, keepingAtLeast: Int) async throws -> Bool
    /// Records a verified copy of `key` on `target` and marks the copy on `source` DELETED, in one transaction: while
    /// a copy moves, readers never see the file on one node more than it has. False when `source` held no ACTIVE copy
    /// any more (retired meanwhile): the target's copy is recorded all the same, and a later walk trims any surplus.
    func moveCopy(_ key: FileKey, to target: NodeID, from source: NodeID, verifiedAt: Date) async throws -> Bool
    /// How many live files `node` holds a verified copy of (ACTIVE locations).
    func activeLocationCount(on node: NodeID) async throws -> Int

    /// Records an acknowledged upload: the file row, its verified locations and the queue items for every
    /// missing replica, in one transaction. Throws `fileAlreadyExists` if the key is taken.
    func recordUpload(_ file: FileRecord, verifiedOn nodes: [NodeID], verifiedAt: Date, queue: [NewQueueItem]) async throws
    /// A live (not deleted) file with all its locations, or nil.
    func file(_ key: FileKey) async throws -> FileEntry?
    /// Live files, newest first, `limit` at most, strictly older than the cursor `before` (a sequence number);
    /// with `matching`, only those whose key or original filename contains it, case ignored (Unicode
    /// lowercasing on both backends: Swift's in SQLite, MySQL's LOWER, which agree on the letters of names).
    /// A search no index serves examines at most `scanSpan` sequence numbers below the cursor, so one page costs
    /// the same at any store size; the page then says where the scan goes on (`FilePage.nextBefore`).
    func listFiles(limit: Int, before: Int64?, matching: FileNameSearch?, scanSpan: Int64) async throws -> FilePage
    /// Tombstones the file: locations on `removedFrom` become DELETED, its live REPLICATE items are cancelled,
    /// and a DELETE item is queued for each node in `pendingOn`. Returns false if no live file had that key.
    func markDeleted(_ key: FileKey, removedFrom: [NodeID], pendingOn: [NodeID], at time: Date) async throws -> Bool
    /// Marks the PENDING DELETE items of `key` on `nodes` COMPLETED: the copy there was removed without the queue
    /// (claimed items are left to their worker).
    func completeDeletes(of key: FileKey, on nodes: [NodeID], at time: Date) async throws
    /// Records the block root of a file that had none (recorded before block digests existed), once a node computed
    /// the blocks of a copy whose SHA-256 matched. Returns false when the file is not live or already has a root.
    func recordBlockRoot(_ key: FileKey, root: SHA256Digest) async throws -> Bool
    /// Sets one location's status (creating the row if needed) and its verification time.
    func recordLocation(_ key: FileKey, on node: NodeID, status: LocationStatus, verifiedAt: Date?) async throws

    /// Queue items matching the filter, oldest first.
    func queueItems(_ filter: QueueFilter) async throws -> [QueueItem]
    /// Adds items, skipping any that duplicate a live item for the same (file, target, kind).
    func enqueue(_ items: [NewQueueItem], at time: Date) async throws
    /// Atomically moves due PENDING items (and FAILED ones when `includeFailed`) for `node` to IN_PROGRESS under
    /// a lease held by `owner` until `leaseUntil`; files with the fewest verified copies come first.
    func claimQueueItems(
        for node: NodeID, owner: String, includeFailed: Bool, now: Date, leaseUntil: Date, limit: Int
    ) async throws -> [QueueItem]
    /// Extends to `leaseUntil` the leases `owner` still holds on these IN_PROGRESS items, while their work runs;
    /// returns how many it still held (an item whose lease ran out may have been reclaimed by another gateway).
    func renewClaims(_ ids: [Int64], owner: String, leaseUntil: Date) async throws -> Int
    /// Marks an item COMPLETED, only while `owner` still holds its claim (IN_PROGRESS, leased to `owner`, the lease
    /// not run out at `time`); returns false, changing nothing, when the claim expired or another gateway took it.
    func completeQueueItem(_ id: Int64, owner: String, at time: Date) async throws -> Bool
    /// Records a failed attempt, under the same claim check as `completeQueueItem`: back to PENDING with
    /// `retry_count`+1 due at `retryAt`, or FAILED once `retry_count` reaches `maxRetries`.
    func failQueueItem(
        _ id: Int64, owner: String, error: String, at time: Date, retryAt: Date, maxRetries: Int
    ) async throws -> Bool
    /// Returns IN_PROGRESS items whose lease expired to PENDING (their worker died); returns how many.
    func releaseExpiredClaims(now: Date) async throws -> Int

    // MARK: recovery (returning nodes, audits, exposure)

    /// The state of each key that names a file, live or tombstoned; unknown keys are absent from the result.
    func fileStates(_ keys: [FileKey]) async throws -> [FileKey: FileState]
    /// Live files whose location on `node` is ACTIVE (the node should hold a verified copy), keys ascending.
    func filesExpected(on node: NodeID) async throws -> [FileKey]
    /// For a live file, in one transaction: the location on `node` becomes `status` (MISSING or CORRUPT) and a
    /// REPLICATE item is queued for it. Returns false (and changes nothing) when the file is not live.
    /// A copy retired by placement (its location DELETED) is not marked again: false, nothing queued.
    func markReplicaLost(
        _ key: FileKey, on node: NodeID, status: LocationStatus, reason: String, at time: Date
    ) async throws -> Bool
    /// Live files with an ACTIVE location on `node`, the least recently verified first (never verified before all).
    func replicasToAudit(on node: NodeID, limit: Int) async throws -> [FileRecord]
    /// Records that the node's copy was re-hashed and matched; only an ACTIVE location of a live file moves.
    func markReplicaVerified(_ key: FileKey, on node: NodeID, at time: Date) async throws
    /// Files below `replicationFactor` verified copies, the oldest open repair, and queue counts per status.
    func replicationSummary(replicationFactor: Int) async throws -> ReplicationSummary

    /// Releases connections.
    func close() async throws
}

extension MetadataStore {
    /// Every live file, newest first (no name filter).
    public func listFiles(limit: Int, before: Int64?) async throws -> [FileEntry] {
        try await listFiles(limit: limit, before: before, matching: nil, scanSpan: FilePage.unindexedScanSpan).entries
    }
}

/// What `GET /files?q=` looks for: a substring of a file's key or original filename, case ignored.
public struct FileNameSearch: Sendable, Equatable {
    /// The longest search text accepted, in Unicode scalars (JSON Schema's `maxLength` counts the same).
    public static let maximumLength = 200

    /// The text, lowercased the way the stores lowercase the names they compare it with.
    public let folded: String

    /// Nil for an empty (or only blank) text, which means "no filter".
    public init?(_ text: String) throws(FileNameSearchError) {
        guard text.unicodeScalars.count <= Self.maximumLength else { throw .tooLong }
        guard !text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else { throw .controlCharacter }
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty else { return nil }
        folded = Self.fold(trimmed)
    }

    /// Whether `name` contains the search text, case ignored: the rule both stores apply.
    public func matches(_ name: String) -> Bool { Self.contains(folded, in: name) }

    /// The longest stretch of ASCII characters in the text (all of it for an ASCII text), nil if it has none. A name
    /// that matches contains it where ASCII-only lowercasing finds it (only U+212A KELVIN SIGN and U+0130, which
    /// lowercase to ASCII letters, escape this), which lets SQLite rule out most rows with its own lower() before
    /// the exact check.
    public var longestASCIIRun: String? {
        let runs = folded.utf8.split(whereSeparator: { $0 >= 0x80 })
        guard let longest = runs.max(by: { $0.count < $1.count }), !longest.isEmpty else { return nil }
        return String(decoding: longest, as: UTF8.self)
    }

    /// The longest stretch of the text whose characters are ASCII or have no case at all (CJK, kana, digits, most
    /// punctuation), nil if it has none. Every other character may have been lowercased from something else in a
    /// name; these stand in the name as they stand in the text (ASCII up to its case), so an index that ignores ASCII
    /// case finds every name that can match by looking for this stretch (with the one exception of
    /// `longestASCIIRun`: a few characters lowercase to ASCII).
    public var longestCaseStableRun: String? {
        var longest: [Unicode.Scalar] = []
        var current: [Unicode.Scalar] = []
        for scalar in folded.unicodeScalars {
            if scalar.isASCII || !scalar.properties.changesWhenCaseMapped {
                current.append(scalar)
                if current.count > longest.count { longest = current }
            } else {
                current = []
            }
        }
        guard !longest.isEmpty else { return nil }
        var run = ""
        run.unicodeScalars.append(contentsOf: longest)
        return run
    }

    /// Unicode lowercasing, so "ÄRGER.PDF" is found by "ärger".
    static func fold(_ text: String) -> String { text.lowercased() }

    /// The lowercased name contains the lowercased text as a run of UTF-8 bytes, as MySQL's INSTR on binary-collated
    /// text compares (a character-wise comparison would differ on combining accents).
    static func contains(_ folded: String, in name: String) -> Bool {
        // An ASCII name lowercases to ASCII: it cannot hold a text with other characters (most rows, most searches
        // in other scripts), and skipping the lowercasing then saves most of the cost.
        if name.utf8.allSatisfy({ $0 < 0x80 }) && !folded.utf8.allSatisfy({ $0 < 0x80 }) { return false }
        return fold(name).utf8.firstRange(of: folded.utf8) != nil
    }
}

public enum FileNameSearchError: Error, Equatable, CustomStringConvertible {
    case tooLong
    case controlCharacter

    public var description: String {
        switch self {
        case .tooLong: "q must be at most \(FileNameSearch.maximumLength) characters"
        case .controlCharacter: "q must not contain control characters"
        }
    }
}
