import DFSClient
import DFSCore
import DFSMetadata
import Foundation
import Logging
import ServiceLifecycle

/// Walks each DRAINING node's copies and the whole store a page of files at a time (newest first, then around
/// again) and carries out what
/// `PlacementReconciler` wants for each: drains, trims and balancing moves, copies throttled to `--rebalance-rate`.
/// A page costs the same at any store size; a crash between a copy and the retirement it allows leaves one copy too
/// many, which a later walk trims. A DRAINING node that holds no live file's verified copy becomes DRAINED.
struct RebalanceLoop: Service {
    let store: any MetadataStore
    let nodes: any NodeClient
    let prober: HealthProber
    /// Makes the copies: the repairer's copy path (read from the verified copies, verify on the target, record), with
    /// its own rate limit.
    let mover: RepairWorker
    let reconciler: PlacementReconciler
    /// Files per page.
    var pageSize = 500
    /// Pause after a whole walk that found nothing to do, with no node draining or out of balance.
    let idleInterval: Duration
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown { await walkForever() }
    }

    private func walkForever() async {
        var cursor = WalkCursor()
        var movedSinceProbe = false
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            // Moves change nodes' used bytes: probe first, so this page plans with the loads they left.
            if movedSinceProbe { _ = await prober.probeAll() }
            var pause = Duration.milliseconds(100)
            do {
                let outcome = try await pass(&cursor)
                movedSinceProbe = outcome.stepsTaken > 0
                if cursor.before == nil && outcome.stepsTaken == 0 { pause = outcome.hasWork ? .seconds(1) : idleInterval }
            } catch {
                logger.error("rebalancing pass failed", metadata: ["error": "\(error)"])
                pause = .seconds(5)
            }
            // Idle pauses end early when a node starts draining, so a drain starts within a second.
            var slept = Duration.zero
            while slept < pause {
                let step = min(pause - slept, .seconds(1))
                do { try await Task.sleep(for: step) } catch { return }
                slept += step
                if pause > .seconds(1), await prober.lastHealth.anyDraining { break }
            }
        }
    }

    /// Where the walks are: the whole store's (by sequence, newest first) and each draining node's (by key).
    struct WalkCursor {
        var before: Int64? = nil
        var draining: [NodeID: FileKey] = [:]
    }

    struct PassOutcome {
        var stepsTaken: Int
        /// A node is draining or out of balance: the next walk should start soon.
        var hasWork: Bool
    }

    /// Plans and carries out one page of each draining node's copies (by key, so a drain does not wait for the
    /// whole store's walk), then one page of the whole store's walk; moves both cursors on.
    func pass(_ cursor: inout WalkCursor) async throws -> PassOutcome {
        let records = try await store.nodes()
        await prober.lastHealth.setStates(records)
        var ledger = await currentLoads(records)
        let draining = records.filter { $0.state == .draining }
        cursor.draining = cursor.draining.filter { key, _ in draining.contains { $0.id == key } }
        var taken = 0
        for node in draining {
            let held = try await store.heldFiles(on: node.id, after: cursor.draining[node.id], limit: pageSize)
            // Around again from the start: copies that could not move yet are tried once more.
            if let last = held.last { cursor.draining[node.id] = last.entry.file.key } else { cursor.draining[node.id] = nil }
            for file in held {
                taken += await carryOut(reconciler.steps(for: file.entry, ledger: &ledger), for: file.entry.file)
            }
        }
        let page = try await store.listFiles(limit: pageSize, before: cursor.before)
        for entry in page {
            taken += await carryOut(reconciler.steps(for: entry, ledger: &ledger), for: entry.file)
        }
        cursor.before = page.count == pageSize ? page.last?.sequence : nil
        for node in draining where try await store.activeLocationCount(on: node.id) == 0 {
            if try await store.setNodeState(node.id, to: .drained) {
                await prober.lastHealth.setState(.drained, of: node.id)
                logger.notice("node drained: it holds no copy anyone needs", metadata: ["node_id": "\(node.id)"])
            }
        }
        return PassOutcome(stepsTaken: taken, hasWork: !draining.isEmpty || ledger.isUnbalanced)
    }

    /// Every known node's state, room, reported use and capacity weight.
    private func currentLoads(_ records: [NodeRecord]) async -> LoadLedger {
        let rooms = await prober.lastHealth.rooms()
        let weights = Dictionary(
            uniqueKeysWithValues: ReplicaPlacer.placementNodes(records.map(\.id), rooms: rooms).map { ($0.id, $0.weight) })
        let serving = Set(await prober.scoreboard.all().filter(\.isSelectable).map(\.id))
        // `rooms` carries each node's state: the ledger took them from `records` just before.
        return LoadLedger(
            records.map { record in
                let room = rooms[record.id] ?? NodeRoom()
                return NodeLoad(
                    id: record.id, isUp: serving.contains(record.id), room: room,
                    usedBytes: Double(room.storedBytes ?? room.usedBytes ?? 0), weight: weights[record.id] ?? 1)
            })
    }

    /// Runs `steps` in order, stopping at the first that fails; returns how many ran.
    private func carryOut(_ steps: [PlacementReconciler.Step], for file: FileRecord) async -> Int {
        var done = 0
        for step in steps {
            do {
                switch step {
                case .copy(let target, let source):
                    guard try await copy(file.key, to: target, from: source, replacing: nil) else { return done }
                case .retire(let node):
                    guard try await retire(file.key, on: node) else { return done }
                case .move(let source, let target):
                    guard try await copy(file.key, to: target, from: source, replacing: source) else { return done }
                    try await deleteRetired(file.key, on: source)
                }
                done += 1
            } catch {
                logger.warning(
                    "rebalancing step failed; the file is looked at again in the next walk",
                    metadata: ["file_key": "\(file.key)", "step": "\(step)", "error": "\(error)"])
                return done
            }
        }
        if done > 0 {
            logger.info("rebalanced a file", metadata: ["file_key": "\(file.key)", "steps": "\(steps)"])
        }
        return done
    }

    /// Makes a verified copy on `target` (in place of `replacing`'s, when given); false when the target is unknown
    /// or the file was deleted meanwhile.
    private func copy(_ key: FileKey, to target: NodeID, from source: NodeID?, replacing: NodeID?) async throws -> Bool {
        guard let endpoint = await prober.scoreboard.score(of: target)?.endpoint else { return false }
        return try await mover.copy(key, to: endpoint, preferring: source, replacing: replacing)
    }

    /// Stops counting the copy on `node` (downloads no longer choose it), then deletes it there; a node that cannot
    /// delete now gets the delete through the queue. Refused (false) when the file would keep fewer verified copies
    /// than the factor: another gateway retired one meanwhile.
    private func retire(_ key: FileKey, on node: NodeID) async throws -> Bool {
        guard try await store.retireCopy(key, on: node, keepingAtLeast: reconciler.replicationFactor) else {
            logger.info(
                "copy not retired: the file would keep fewer verified copies than the factor",
                metadata: ["file_key": "\(key)", "node_id": "\(node)"])
            return false
        }
        try await deleteRetired(key, on: node)
        return true
    }

    /// Deletes a copy no longer counted from its node, or queues the delete when the node cannot take it now.
    private func deleteRetired(_ key: FileKey, on node: NodeID) async throws {
        if let endpoint = await prober.scoreboard.score(of: node)?.endpoint {
            do {
                _ = try await nodes.retireBlob(key, on: endpoint)
                return
            } catch {
                logger.info("retired copy left for the queue to delete", metadata: ["file_key": "\(key)", "node_id": "\(node)"])
            }
        }
        try await store.enqueue(
            [
                NewQueueItem(
                    fileKey: key, targetNodeID: node, sourceNodeID: nil, kind: .delete, reason: "copy retired by placement")
            ],
            at: Date())
    }
}
