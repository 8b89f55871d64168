import DFSClient
import DFSCore
import DFSMetadata
import Foundation
import Logging

/// The answer of a drain, in the prototype's terms (`POST /nodes/{id}/recover`).
struct RecoverySummary: Sendable, Equatable {
    var total: Int
    var success: Int
    var failed: Int
    var pendingItems: Int
}

/// Drains a node's queue: copies missing replicas from the other copies (streaming node → gateway → node, never
/// buffering a whole file), verifies the target's SHA-256 and block root, records the location; runs queued deletes.
///
/// The source is read like a download (`DownloadCoordinator.openRepairSource`): nodes send only blocks they verified,
/// a source that cuts its stream before a damaged block is replaced at that byte by another copy, and a copy marked
/// damaged still lends its intact blocks. So a damaged source never spreads, and a file whose copies are each
/// damaged in different blocks is made whole again.
struct RepairWorker: Sendable {
    let store: any MetadataStore
    let nodes: any NodeClient
    let downloads: DownloadCoordinator
    let scoreboard: LatencyScoreboard
    let maxRetries: Int
    let backoff: RetryBackoff
    let concurrency: Int
    /// Shared by every copy this worker makes (`--recovery-rate`; the rebalancer's own worker: `--rebalance-rate`).
    var rateLimiter: TransferRateLimiter
    let workerID: String
    /// How long a claim lasts without renewal (`--repair-lease`): a gateway that dies mid-repair holds its items
    /// this long at most, then any gateway takes them over. Live work renews it every third of that.
    var lease: Duration = .seconds(60)
    let logger: Logger
    /// Recovery throughput: items and bytes repaired, failed attempts.
    var metrics: GatewayMetrics? = nil
    /// Each node's room: a copy owed to a node without room waits in the queue (never FAILED) until it has some.
    var rooms: NodeHealthLedger? = nil
    /// A node at or above this used share of its capacity takes no new copies (`--full-threshold`).
    var fullThreshold = 0.95

    private var leaseSeconds: TimeInterval { Double(lease.components.seconds) + Double(lease.components.attoseconds) / 1e18 }
    private var leaseRenewalInterval: Duration { lease / 3 }

    /// Processes the due items of `node` (FAILED ones too when `includeFailed`), `concurrency` at a time.
    func drain(_ node: NodeID, includeFailed: Bool) async throws -> RecoverySummary {
        guard let target = await scoreboard.score(of: node) else {
            return RecoverySummary(total: 0, success: 0, failed: 0, pendingItems: 0)
        }
        var total = 0
        var success = 0
        var failed = 0
        var retryFailed = includeFailed
        while true {
            let now = Date()
            let batch = try await store.claimQueueItems(
                for: node, owner: workerID, includeFailed: retryFailed, now: now,
                leaseUntil: now.addingTimeInterval(leaseSeconds), limit: max(1, concurrency) * 4)
            retryFailed = false  // a FAILED item gets one manual retry per drain, not a loop
            if batch.isEmpty { break }
            total += batch.count
            let results = await whileRenewingLeases(of: batch.map(\.id)) {
                await withTaskGroup(of: Bool.self) { group in
                    var running = 0
                    var outcomes: [Bool] = []
                    for item in batch {
                        if running >= max(1, concurrency), let finished = await group.next() {
                            outcomes.append(finished)
                            running -= 1
                        }
                        group.addTask { await process(item, on: target.endpoint) }
                        running += 1
                    }
                    for await finished in group { outcomes.append(finished) }
                    return outcomes
                }
            }
            success += results.filter { $0 }.count
            failed += results.filter { !$0 }.count
            if results.allSatisfy({ !$0 }) { break }  // the node is failing every item: stop hammering it
        }
        let pending = try await store.queueItems(QueueFilter(status: .pending, targetNodeID: node, limit: 100_000)).count
        return RecoverySummary(total: total, success: success, failed: failed, pendingItems: pending)
    }

    /// Runs `body` while a side task renews the batch's leases, so a repair longer than the lease (a large
    /// file) is not taken over by another gateway while it still runs.
    private func whileRenewingLeases<T: Sendable>(of ids: [Int64], _ body: () async -> T) async -> T {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { [store, workerID, logger] in
                while true {
                    do { try await Task.sleep(for: leaseRenewalInterval) } catch { return }
                    do {
                        _ = try await store.renewClaims(ids, owner: workerID, leaseUntil: Date().addingTimeInterval(leaseSeconds))
                    } catch {
                        logger.warning("could not renew repair leases", metadata: ["count": "\(ids.count)", "error": "\(error)"])
                    }
                }
            }
            let result = await body()
            group.cancelAll()
            return result
        }
    }

    private func process(_ item: QueueItem, on target: NodeEndpoint) async -> Bool {
        do {
            switch item.kind {
            case .replicate: try await copy(item.fileKey, to: target, preferring: item.sourceNodeID)
            case .delete:
                // A live file's copy was retired by placement and may be placed here again; a deleted file's may not.
                let isLive = try await store.file(item.fileKey) != nil
                if isLive {
                    _ = try await nodes.retireBlob(item.fileKey, on: target)
                } else {
                    _ = try await nodes.deleteBlob(item.fileKey, on: target)
                }
                logger.info(
                    isLive
                        ? "removed retired copy of \(item.fileKey) from \(target.id)"
                        : "removed deleted file \(item.fileKey) from \(target.id)",
                    metadata: ["file_key": "\(item.fileKey)", "node_id": "\(target.id)"])
            }
            guard try await store.completeQueueItem(item.id, owner: workerID, at: Date()) else {
                // Our claim ran out (this gateway stalled) and the item may be another gateway's now: its outcome is
                // theirs to record. The copy made here is verified, so its location stands.
                logger.warning(
                    "repair finished after its claim was lost; left to the new owner",
                    metadata: [
                        "file_key": "\(item.fileKey)", "node_id": "\(target.id)",
                    ])
                return false
            }
            metrics?.repairedItemCount.increment()
            return true
        } catch {
            metrics?.repairFailureCount.increment()
            let retryAt = Date().addingTimeInterval(backoff.seconds(afterFailures: item.retryCount))
            // A node without room is not failing: its copy waits, however long that takes.
            let waitsForRoom = Self.isLackOfRoom(error)
            if case NodeRequestError.insufficientStorage = error { await rooms?.refusedSpace(target.id) }
            let willFail = !waitsForRoom && item.retryCount + 1 >= maxRetries
            if waitsForRoom {
                logger.info(
                    "repair waits for room on its target",
                    metadata: ["file_key": "\(item.fileKey)", "node_id": "\(target.id)", "error": "\(error)"])
            } else if willFail {
                logger.error(
                    "repair FAILED after \(item.retryCount + 1) attempts",
                    metadata: ["file_key": "\(item.fileKey)", "node_id": "\(target.id)", "error": "\(error)"])
            } else {
                logger.warning(
                    "repair attempt failed; will retry",
                    metadata: [
                        "file_key": "\(item.fileKey)", "node_id": "\(target.id)", "attempt": "\(item.retryCount + 1)",
                        "error": "\(error)",
                    ])
            }
            do {
                if try await !store.failQueueItem(
                    item.id, owner: workerID, error: "\(error)", at: Date(), retryAt: retryAt,
                    maxRetries: waitsForRoom ? .max : maxRetries)
                {
                    logger.warning(
                        "repair failed after its claim was lost; left to the new owner",
                        metadata: ["file_key": "\(item.fileKey)", "node_id": "\(target.id)"])
                }
            } catch {
                logger.error("could not record a failed repair", metadata: ["file_key": "\(item.fileKey)", "error": "\(error)"])
            }
            return false
        }
    }

    /// Copies `key` to `target` from its other copies (`preferring` one when it can serve), verifies the target's
    /// SHA-256 and block root and records the location — in place of the copy on `replacing` when given
    /// (`MetadataStore.moveCopy`). Returns false when the file was deleted meanwhile.
    @discardableResult
    func copy(_ key: FileKey, to target: NodeEndpoint, preferring: NodeID?, replacing: NodeID? = nil) async throws -> Bool {
        guard let entry = try await store.file(key) else { return false }  // deleted meanwhile: nothing to copy
        let file = entry.file
        guard !Set(entry.verifiedReplicas + entry.damagedReplicas).subtracting([target.id]).isEmpty else {
            throw RepairError.noVerifiedSource(file.key)
        }
        if let refusal = await rooms?.rooms()[target.id]?.refusal(length: file.sizeBytes, fullThreshold: fullThreshold) {
            throw RepairError.noRoom(target.id, refusal)
        }
        let source: DownloadPlan
        do {
            source = try await downloads.openRepairSource(entry, for: target.id, preferring: preferring, logger: logger)
        } catch let error as NoNodeAvailable {
            throw RepairError.allSourcesFailed(file.key, error.attempts)
        }
        let result = try await nodes.putBlob(
            file.key, on: target, body: rateLimiter.throttle(source.body), length: file.sizeBytes, replicateTo: [],
            expectedDigest: file.checksum, expectedBlockRoot: file.blockRoot)
        let root = result.blockRoot.flatMap(SHA256Digest.init(hex:))
        guard SHA256Digest(hex: result.checksumSHA256) == file.checksum, result.sizeBytes == file.sizeBytes, let root,
            file.blockRoot.map({ $0 == root }) ?? true
        else {
            throw RepairError.digestMismatch(file.key, target.id)
        }
        // A delete may have run while the bytes were in flight (it cancels this item and removes the copy it could
        // see); re-check so the copy that just landed does not outlive its file.
        guard try await store.file(file.key) != nil else {
            _ = try? await nodes.deleteBlob(file.key, on: target)
            logger.info(
                "file deleted during its repair; removed the new copy",
                metadata: ["file_key": "\(file.key)", "node_id": "\(target.id)"])
            return false
        }
        // A file recorded before block digests existed gets its root now: the target computed it from bytes whose
        // SHA-256 it checked against the recorded one.
        if file.blockRoot == nil, try await store.recordBlockRoot(file.key, root: root) {
            logger.info(
                "recorded the block digests of an older file", metadata: ["file_key": "\(file.key)", "node_id": "\(target.id)"])
        }
        if let replacing {
            if try await !store.moveCopy(file.key, to: target.id, from: replacing, verifiedAt: Date()) {
                logger.info(
                    "copy moved, but its old location was retired meanwhile",
                    metadata: ["file_key": "\(file.key)", "node_id": "\(replacing)"])
            }
        } else {
            try await store.recordLocation(file.key, on: target.id, status: .active, verifiedAt: Date())
        }
        metrics?.repairedByteCount.increment(by: file.sizeBytes)
        logger.info(
            "auto-recovered \(file.key) to \(target.id)",
            metadata: [
                "file_key": "\(file.key)", "node_id": "\(target.id)", "source": "\(source.servedBy)",
                "bytes": "\(file.sizeBytes)",
            ])
        return true
    }
}

extension RepairWorker {
    static func isLackOfRoom(_ error: any Error) -> Bool {
        switch error {
        case RepairError.noRoom, NodeRequestError.insufficientStorage: return true
        default: return false
        }
    }
}

enum RepairError: Error, CustomStringConvertible {
    case noVerifiedSource(FileKey)
    case digestMismatch(FileKey, NodeID)
    case allSourcesFailed(FileKey, [String])
    /// The target has no room for the copy now (full, too little free space, or it refused for lack of space).
    case noRoom(NodeID, String)

    var description: String {
        switch self {
        case .noVerifiedSource(let key): return "no verified replica of \(key) to copy from"
        case .digestMismatch(let key, let node): return "copy of \(key) on \(node) has the wrong digest"
        case .allSourcesFailed(_, let errors):
            return errors.isEmpty ? "no healthy source replica" : errors.joined(separator: "; ")
        case .noRoom(let node, let why): return "\(node) has no room: \(why)"
        }
    }
}
