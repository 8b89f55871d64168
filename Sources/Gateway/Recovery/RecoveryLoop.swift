import DFSCore
import DFSMetadata
import Foundation
import Logging
import ServiceLifecycle

/// The recovery loop: probes nodes every `probeInterval`, and the ones routing leaves out every
/// `returnProbeInterval`; when a node comes back UP it serves at once, its queue is drained first (fewest verified
/// copies first, so a write that missed it is whole again before anything else), then its inventory is reconciled
/// unless it is flapping; drains every serving node's queue every `recoveryInterval`.
struct RecoveryLoop: Service {
    let prober: HealthProber
    let repairer: RepairWorker
    let reconciler: NodeReconciler
    let store: any MetadataStore
    /// A node DOWN for longer than this has its copies re-made elsewhere (when there is an elsewhere).
    let rereplicateAfter: Duration
    let replicationFactor: Int
    let probeInterval: Duration
    let recoveryInterval: Duration
    /// How often the nodes routing leaves out (DOWN or ejected) are probed, so a returning one is back quickly
    /// (at most `probeInterval`); zero turns these probes off.
    var returnProbeInterval: Duration = .seconds(1)
    /// A node came back: seen by the loop's own probes or from outside it (a live `/nodes/check`).
    let triggers: AsyncStream<NodeID>
    /// Hands a node that came back to `triggers`.
    let announceReturn: @Sendable (NodeID) -> Void
    let logger: Logger

    func run() async throws {
        // Cancelled on graceful shutdown: sleeps and the trigger stream end at once.
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await self.drainTriggered() }
                group.addTask { await self.tickForever() }
                // The first task to end ends the loop: this one is started only when it runs until cancelled.
                if returnProbeInterval > .zero { group.addTask { await self.watchExcludedNodes() } }
                await group.next()
                group.cancelAll()
            }
        }
    }

    /// A returned node first gets the copies it missed, then (unless it is flapping) its inventory reconciled, and
    /// whatever that found missing.
    private func drainTriggered() async {
        for await node in triggers {
            // Repairs to it that died with an earlier attempt are due again, not stuck until their lease ends.
            _ = try? await store.releaseExpiredClaims(now: Date())
            await drain(node)
            for reconciled in await bringBackReturningNodes() { await drain(reconciled) }
        }
    }

    private func watchExcludedNodes() async {
        let interval = min(returnProbeInterval, probeInterval)
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                try await Task.sleep(for: interval)
            } catch {
                return
            }
            for node in await prober.probeExcluded().cameBack { announceReturn(node) }
        }
    }

    private func tickForever() async {
        var sinceDrain = Duration.zero
        var firstTick = true
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let (results, cameBack) = await prober.probeAll()
            for node in cameBack { announceReturn(node) }
            sinceDrain += probeInterval
            let drainAll = firstTick || sinceDrain >= recoveryInterval
            if drainAll { sinceDrain = .zero }
            if firstTick {
                // This gateway cannot know what happened while it was down: a node may have missed deletes.
                // Reconciling is safe on a serving node (young orphans are spared), so do it once for all.
                await reconcileAtStart(results.filter(\.isUsable).map(\.node))
            }
            firstTick = false
            if drainAll {
                _ = try? await store.releaseExpiredClaims(now: Date())
                // Returned nodes that were flapping, or whose reconciliation failed, once they stay.
                await bringBackReturningNodes()
                await rereplicateLongOutages()
                for node in Set(results.filter(\.isUsable).map(\.node.id)).sorted() { await drain(node) }
            }
            do {
                try await Task.sleep(for: probeInterval)
            } catch {
                return
            }
        }
    }

    /// Reconciles every node that came back UP and is not flapping (or whose last reconciliation failed); returns
    /// the ones reconciled, to drain what that queued.
    @discardableResult
    private func bringBackReturningNodes() async -> [NodeID] {
        var ready: [NodeID] = []
        for node in await prober.availability.needingReconciliation() {
            guard let endpoint = await prober.scoreboard.score(of: node)?.endpoint else { continue }
            do {
                let report = try await reconciler.reconcile(endpoint)
                logger.info(
                    "reconciled returning node",
                    metadata: [
                        "node_id": "\(node)", "blobs": "\(report.listed)", "removed_deleted": "\(report.removedDeleted)",
                        "removed_orphans": "\(report.removedOrphans)", "queued_missing": "\(report.queuedMissing)",
                    ])
                await prober.markReconciled(node)
                ready.append(node)
            } catch {
                logger.warning(
                    "reconciliation failed; it is tried again at the next recovery pass",
                    metadata: ["node_id": "\(node)", "error": "\(error)"])
            }
        }
        return ready
    }

    private func reconcileAtStart(_ nodes: [NodeEndpoint]) async {
        for node in nodes {
            do {
                let report = try await reconciler.reconcile(node)
                logger.info(
                    "reconciled node at start",
                    metadata: [
                        "node_id": "\(node.id)", "blobs": "\(report.listed)", "removed_deleted": "\(report.removedDeleted)",
                        "removed_orphans": "\(report.removedOrphans)", "queued_missing": "\(report.queuedMissing)",
                    ])
            } catch {
                logger.warning("reconciliation at start failed", metadata: ["node_id": "\(node.id)", "error": "\(error)"])
            }
        }
    }

    /// Queues extra copies of the files held by nodes DOWN for longer than `rereplicateAfter`.
    private func rereplicateLongOutages() async {
        do {
            let now = Date()
            let seconds = Double(rereplicateAfter.components.seconds) + Double(rereplicateAfter.components.attoseconds) / 1e18
            let longDown = try await store.nodes().filter {
                $0.status == .down && ($0.statusChangedAt.map { now.timeIntervalSince($0) >= seconds } ?? false)
            }
            guard !longDown.isEmpty else { return }
            let serving = await prober.scoreboard.ranked().filter(\.isUp).map(\.id)
            guard !serving.isEmpty else { return }
            let planner = RereplicationPlanner(
                replicationFactor: replicationFactor,
                placer: ReplicaPlacer(replicas: replicationFactor, fullThreshold: repairer.fullThreshold))
            let rooms = await prober.lastHealth.rooms()
            var queuedCount = 0
            // Page through each long-down node's copies (a fixed number of queries per page); a page's items are queued
            // before the next is read, so a file held by two down nodes sees the copies queued for it already.
            for node in longDown {
                var after: FileKey? = nil
                while true {
                    let page = try await store.heldFiles(on: node.id, after: after, limit: 500)
                    guard let last = page.last else { break }
                    after = last.entry.file.key
                    var items: [NewQueueItem] = []
                    for held in page {
                        let key = held.entry.file.key
                        for target in planner.extraTargets(
                            locations: held.entry.locations, queuedTargets: held.comingTo, serving: serving, key: key,
                            rooms: rooms)
                        {
                            items.append(
                                NewQueueItem(
                                    fileKey: key, targetNodeID: target, sourceNodeID: nil, kind: .replicate,
                                    reason: "replica holder DOWN longer than \(rereplicateAfter)"))
                        }
                    }
                    if !items.isEmpty { try await store.enqueue(items, at: now) }
                    queuedCount += items.count
                    if Task.isCancelled { return }
                }
            }
            guard queuedCount > 0 else { return }
            logger.info(
                "queued extra copies for a long outage",
                metadata: ["count": "\(queuedCount)", "down": "\(longDown.map(\.id.rawValue))"])
        } catch {
            logger.error("could not plan extra copies", metadata: ["error": "\(error)"])
        }
    }

    private func drain(_ node: NodeID) async {
        do {
            let summary = try await repairer.drain(node, includeFailed: false)
            if summary.total > 0 {
                logger.info(
                    "recovery pass",
                    metadata: [
                        "node_id": "\(node)", "total": "\(summary.total)", "success": "\(summary.success)",
                        "failed": "\(summary.failed)", "pending": "\(summary.pendingItems)",
                    ])
            }
        } catch {
            logger.error("recovery pass failed", metadata: ["node_id": "\(node)", "error": "\(error)"])
        }
    }
}
