import DFSCore
import Foundation

/// Times every call of another `MetadataStore` and reports it to `record`, so the drivers carry no timers and the
/// gateway's metrics see store latency per operation. Operation names are the method names: a fixed set.
public struct InstrumentedMetadataStore: MetadataStore {
    /// Receives the operation name, how long it took and whether it succeeded.
    public typealias Recorder = @Sendable (_ operation: String, _ duration: Duration, _ succeeded: Bool) -> Void

    public let base: any MetadataStore
    private let record: Recorder

    public init(_ base: any MetadataStore, record: @escaping Recorder) {
        self.base = base
        self.record = record
    }

    public func registerNode(id: NodeID, address: String, role: NodeRole) async throws {
        try await measure("registerNode") { try await base.registerNode(id: id, address: address, role: role) }
    }

    public func nodes() async throws -> [NodeRecord] {
        try await measure("nodes") { try await base.nodes() }
    }

    public func setNodeState(_ node: NodeID, to state: NodeState) async throws -> Bool {
        try await measure("setNodeState") { try await base.setNodeState(node, to: state) }
    }

    public func removeNode(_ node: NodeID, at time: Date) async throws -> Bool {
        try await measure("removeNode") { try await base.removeNode(node, at: time) }
    }

    public func heldFiles(on node: NodeID, after: FileKey?, limit: Int) async throws -> [HeldFile] {
        try await measure("heldFiles") { try await base.heldFiles(on: node, after: after, limit: limit) }
    }

    public func retireCopy(_ key: FileKey, on node: NodeID, keepingAtLeast: Int) async throws -> Bool {
        try await measure("retireCopy") { try await base.retireCopy(key, on: node, keepingAtLeast: keepingAtLeast) }
    }

    public func moveCopy(_ key: FileKey, to target: NodeID, from source: NodeID, verifiedAt: Date) async throws -> Bool {
        try await measure("moveCopy") { try await base.moveCopy(key, to: target, from: source, verifiedAt: verifiedAt) }
    }

    public func activeLocationCount(on node: NodeID) async throws -> Int {
        try await measure("activeLocationCount") { try await base.activeLocationCount(on: node) }
    }

    public func recordProbe(of node: NodeID, status: NodeStatus, latencyMs: Double?, at time: Date) async throws {
        try await measure("recordProbe") { try await base.recordProbe(of: node, status: status, latencyMs: latencyMs, at: time) }
    }

    public func recordUpload(_ file: FileRecord, verifiedOn nodes: [NodeID], verifiedAt: Date, queue: [NewQueueItem]) async throws
    {
        try await measure("recordUpload") {
            try await base.recordUpload(file, verifiedOn: nodes, verifiedAt: verifiedAt, queue: queue)
        }
    }

    public func file(_ key: FileKey) async throws -> FileEntry? {
        try await measure("file") { try await base.file(key) }
    }

    public func listFiles(limit: Int, before: Int64?, matching: FileNameSearch?, scanSpan: Int64) async throws -> FilePage {
        try await measure("listFiles") {
            try await base.listFiles(limit: limit, before: before, matching: matching, scanSpan: scanSpan)
        }
    }

    public func markDeleted(_ key: FileKey, removedFrom: [NodeID], pendingOn: [NodeID], at time: Date) async throws -> Bool {
        try await measure("markDeleted") {
            try await base.markDeleted(key, removedFrom: removedFrom, pendingOn: pendingOn, at: time)
        }
    }

    public func completeDeletes(of key: FileKey, on nodes: [NodeID], at time: Date) async throws {
        try await measure("completeDeletes") { try await base.completeDeletes(of: key, on: nodes, at: time) }
    }

    public func recordBlockRoot(_ key: FileKey, root: SHA256Digest) async throws -> Bool {
        try await measure("recordBlockRoot") { try await base.recordBlockRoot(key, root: root) }
    }

    public func recordLocation(_ key: FileKey, on node: NodeID, status: LocationStatus, verifiedAt: Date?) async throws {
        try await measure("recordLocation") {
            try await base.recordLocation(key, on: node, status: status, verifiedAt: verifiedAt)
        }
    }

    public func queueItems(_ filter: QueueFilter) async throws -> [QueueItem] {
        try await measure("queueItems") { try await base.queueItems(filter) }
    }

    public func enqueue(_ items: [NewQueueItem], at time: Date) async throws {
        try await measure("enqueue") { try await base.enqueue(items, at: time) }
    }

    public func claimQueueItems(
        for node: NodeID, owner: String, includeFailed: Bool, now: Date, leaseUntil: Date, limit: Int
    ) async throws -> [QueueItem] {
        try await measure("claimQueueItems") {
            try await base.claimQueueItems(
                for: node, owner: owner, includeFailed: includeFailed, now: now, leaseUntil: leaseUntil, limit: limit)
        }
    }

    public func renewClaims(_ ids: [Int64], owner: String, leaseUntil: Date) async throws -> Int {
        try await measure("renewClaims") { try await base.renewClaims(ids, owner: owner, leaseUntil: leaseUntil) }
    }

    public func completeQueueItem(_ id: Int64, owner: String, at time: Date) async throws -> Bool {
        try await measure("completeQueueItem") { try await base.completeQueueItem(id, owner: owner, at: time) }
    }

    public func failQueueItem(
        _ id: Int64, owner: String, error: String, at time: Date, retryAt: Date, maxRetries: Int
    ) async throws -> Bool {
        try await measure("failQueueItem") {
            try await base.failQueueItem(id, owner: owner, error: error, at: time, retryAt: retryAt, maxRetries: maxRetries)
        }
    }

    public func releaseExpiredClaims(now: Date) async throws -> Int {
        try await measure("releaseExpiredClaims") { try await base.releaseExpiredClaims(now: now) }
    }

    public func fileStates(_ keys: [FileKey]) async throws -> [FileKey: FileState] {
        try await measure("fileStates") { try await base.fileStates(keys) }
    }

    public func filesExpected(on node: NodeID) async throws -> [FileKey] {
        try await measure("filesExpected") { try await base.filesExpected(on: node) }
    }

    public func markReplicaLost(
        _ key: FileKey, on node: NodeID, status: LocationStatus, reason: String, at time: Date
    ) async throws -> Bool {
        try await measure("markReplicaLost") {
            try await base.markReplicaLost(key, on: node, status: status, reason: reason, at: time)
        }
    }

    public func replicasToAudit(on node: NodeID, limit: Int) async throws -> [FileRecord] {
        try await measure("replicasToAudit") { try await base.replicasToAudit(on: node, limit: limit) }
    }

    public func markReplicaVerified(_ key: FileKey, on node: NodeID, at time: Date) async throws {
        try await measure("markReplicaVerified") { try await base.markReplicaVerified(key, on: node, at: time) }
    }

    public func replicationSummary(replicationFactor: Int) async throws -> ReplicationSummary {
        try await measure("replicationSummary") { try await base.replicationSummary(replicationFactor: replicationFactor) }
    }

    public func close() async throws {
        try await base.close()
    }

    private func measure<T>(_ operation: String, _ call: () async throws -> T) async throws -> T {
        let started = ContinuousClock.now
        do {
            let result = try await call()
            record(operation, ContinuousClock.now - started, true)
            return result
        } catch {
            record(operation, ContinuousClock.now - started, false)
            throw error
        }
    }
}
