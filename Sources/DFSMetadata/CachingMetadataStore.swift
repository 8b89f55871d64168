import DFSCore
import Foundation
import Synchronization

/// A `MetadataStore` that keeps recently read live file entries in memory, so a download's lookup costs no
/// database round trip (a hop to the driver's thread and its serial lock) when the file was read before.
///
/// Correct only while every write goes through this instance: use it when this process is the database's sole
/// writer (one gateway per SQLite file), never for a MySQL database several gateways share.
/// Each write that can change an entry (`recordUpload`, `markDeleted`, `recordLocation`, `markReplicaLost`,
/// `markReplicaVerified`) drops that key once it ends, whether it succeeded or not, and bumps a generation: a read
/// that began before a write ended never stores its (possibly older) result.
public final class CachingMetadataStore: MetadataStore {
    private let base: any MetadataStore
    private let capacity: Int
    private let state = Mutex(CacheState())

    private struct CacheState {
        var entries: [FileKey: FileEntry] = [:]
        var generation: UInt64 = 0
    }

    /// - Parameter capacity: entries kept at most; when full the cache starts over (entries are cheap to reread).
    public init(_ base: any MetadataStore, capacity: Int = 10_000) {
        self.base = base
        self.capacity = max(1, capacity)
    }

    public func file(_ key: FileKey) async throws -> FileEntry? {
        let (cached, generation) = state.withLock { ($0.entries[key], $0.generation) }
        if let cached { return cached }
        let entry = try await base.file(key)
        // Absent files are not cached: an upload of that key may be committing right now.
        if let entry {
            state.withLock { state in
                guard state.generation == generation else { return }
                if state.entries.count >= capacity { state.entries.removeAll(keepingCapacity: true) }
                state.entries[key] = entry
            }
        }
        return entry
    }

    private func invalidating<T>(_ key: FileKey, _ write: () async throws -> T) async throws -> T {
        defer {
            state.withLock { state in
                state.entries[key] = nil
                state.generation &+= 1
            }
        }
        return try await write()
    }

    // MARK: - writes that change a file entry

    public func recordUpload(_ file: FileRecord, verifiedOn nodes: [NodeID], verifiedAt: Date, queue: [NewQueueItem]) async throws
    {
        try await invalidating(file.key) {
            try await base.recordUpload(file, verifiedOn: nodes, verifiedAt: verifiedAt, queue: queue)
        }
    }

    public func markDeleted(_ key: FileKey, removedFrom: [NodeID], pendingOn: [NodeID], at time: Date) async throws -> Bool {
        try await invalidating(key) { try await base.markDeleted(key, removedFrom: removedFrom, pendingOn: pendingOn, at: time) }
    }

    public func completeDeletes(of key: FileKey, on nodes: [NodeID], at time: Date) async throws {
        try await base.completeDeletes(of: key, on: nodes, at: time)
    }

    public func recordBlockRoot(_ key: FileKey, root: SHA256Digest) async throws -> Bool {
        try await invalidating(key) { try await base.recordBlockRoot(key, root: root) }
    }

    public func recordLocation(_ key: FileKey, on node: NodeID, status: LocationStatus, verifiedAt: Date?) async throws {
        try await invalidating(key) { try await base.recordLocation(key, on: node, status: status, verifiedAt: verifiedAt) }
    }

    public func markReplicaLost(
        _ key: FileKey, on node: NodeID, status: LocationStatus, reason: String, at time: Date
    ) async throws -> Bool {
        try await invalidating(key) { try await base.markReplicaLost(key, on: node, status: status, reason: reason, at: time) }
    }

    public func retireCopy(_ key: FileKey, on node: NodeID, keepingAtLeast: Int) async throws -> Bool {
        try await invalidating(key) { try await base.retireCopy(key, on: node, keepingAtLeast: keepingAtLeast) }
    }

    public func moveCopy(_ key: FileKey, to target: NodeID, from source: NodeID, verifiedAt: Date) async throws -> Bool {
        try await invalidating(key) { try await base.moveCopy(key, to: target, from: source, verifiedAt: verifiedAt) }
    }

    public func markReplicaVerified(_ key: FileKey, on node: NodeID, at time: Date) async throws {
        try await invalidating(key) { try await base.markReplicaVerified(key, on: node, at: time) }
    }

    // MARK: - everything else passes through

    public func registerNode(id: NodeID, address: String, role: NodeRole) async throws {
        try await base.registerNode(id: id, address: address, role: role)
    }

    public func nodes() async throws -> [NodeRecord] { try await base.nodes() }

    public func setNodeState(_ node: NodeID, to state: NodeState) async throws -> Bool {
        try await base.setNodeState(node, to: state)
    }

    public func removeNode(_ node: NodeID, at time: Date) async throws -> Bool {
        // Every entry listing the node changes: start over.
        defer {
            state.withLock { state in
                state.entries.removeAll()
                state.generation &+= 1
            }
        }
        return try await base.removeNode(node, at: time)
    }

    public func activeLocationCount(on node: NodeID) async throws -> Int { try await base.activeLocationCount(on: node) }

    public func heldFiles(on node: NodeID, after: FileKey?, limit: Int) async throws -> [HeldFile] {
        try await base.heldFiles(on: node, after: after, limit: limit)
    }

    public func recordProbe(of node: NodeID, status: NodeStatus, latencyMs: Double?, at time: Date) async throws {
        try await base.recordProbe(of: node, status: status, latencyMs: latencyMs, at: time)
    }

    public func listFiles(limit: Int, before: Int64?, matching: FileNameSearch?, scanSpan: Int64) async throws -> FilePage {
        try await base.listFiles(limit: limit, before: before, matching: matching, scanSpan: scanSpan)
    }

    public func queueItems(_ filter: QueueFilter) async throws -> [QueueItem] { try await base.queueItems(filter) }

    public func enqueue(_ items: [NewQueueItem], at time: Date) async throws { try await base.enqueue(items, at: time) }

    public func claimQueueItems(
        for node: NodeID, owner: String, includeFailed: Bool, now: Date, leaseUntil: Date, limit: Int
    ) async throws -> [QueueItem] {
        try await base.claimQueueItems(
            for: node, owner: owner, includeFailed: includeFailed, now: now, leaseUntil: leaseUntil, limit: limit)
    }

    public func renewClaims(_ ids: [Int64], owner: String, leaseUntil: Date) async throws -> Int {
        try await base.renewClaims(ids, owner: owner, leaseUntil: leaseUntil)
    }

    public func completeQueueItem(_ id: Int64, owner: String, at time: Date) async throws -> Bool {
        try await base.completeQueueItem(id, owner: owner, at: time)
    }

    public func failQueueItem(
        _ id: Int64, owner: String, error: String, at time: Date, retryAt: Date, maxRetries: Int
    ) async throws -> Bool {
        try await base.failQueueItem(id, owner: owner, error: error, at: time, retryAt: retryAt, maxRetries: maxRetries)
    }

    public func releaseExpiredClaims(now: Date) async throws -> Int { try await base.releaseExpiredClaims(now: now) }

    public func fileStates(_ keys: [FileKey]) async throws -> [FileKey: FileState] { try await base.fileStates(keys) }

    public func filesExpected(on node: NodeID) async throws -> [FileKey] { try await base.filesExpected(on: node) }

    public func replicasToAudit(on node: NodeID, limit: Int) async throws -> [FileRecord] {
        try await base.replicasToAudit(on: node, limit: limit)
    }

    public func replicationSummary(replicationFactor: Int) async throws -> ReplicationSummary {
        try await base.replicationSummary(replicationFactor: replicationFactor)
    }

    public func close() async throws { try await base.close() }
}
