import DFSCore
import DFSMetadata
import Foundation
import Logging
import ServiceLifecycle

/// The recovery loop: probes nodes every `probeInterval`; when a node comes back UP
/// (confirmed by the hysteresis) reconciles its inventory, lets it serve and drains its queue at once; drains
/// every serving node's queue every `recoveryInterval`.
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
    /// A node came back, seen from outside the loop (a live `/nodes/check` that saw one come back).
    let triggers: AsyncStream<NodeID>
    let logger: Logger

    func run() async throws {
        // Cancelled on graceful shutdown: sleeps and the trigger stream end at once.
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await self.drainTriggered() }
                group.addTask { await self.tickForever() }
                await group.next()
                group.cancelAll()
            }
        }
    }

    private func drainTriggered() async {
        for await _ in triggers {
            for node in await bringBackReturningNodes() { await drain(node) }
        }
    }

    private func tickForever() async {
        var sinceDrain = Duration.zero
        var firstTick = true
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let (results, _) = await prober.probeAll()
            sinceDrain += probeInterval
            let drainAll = firstTick || sinceDrain >= recoveryInterval
            if drainAll { sinceDrain = .zero }
            if firstTick {
                // This gateway cannot know what happened while it was down: a node may have missed deletes.
                // Reconciling is safe on a serving node (young orphans are spared), so do it once for all.
                await reconcileAtStart(results.filter(\.isUsable).map(\.node))
            }
            firstTick = false
            let returned = await bringBackReturningNodes()
            let toDrain = drainAll ? results.filter(\.isUsable).map(\.node.id) : returned
            if !toDrain.isEmpty {
                _ = try? await store.releaseExpiredClaims(now: Date())
            }
            if drainAll { await rereplicateLongOutages() }
            for node in Set(toDrain).sorted() { await drain(node) }
            do {
                try await Task.sleep(for: probeInterval)
            } catch {
                return
            }
        }
    }

    /// Reconciles every node that came back UP (or whose last reconciliation failed) before it serves again;
    /// returns the ones now serving, to drain at once.
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
                    "reconciliation failed; the node stays out of service", metadata: ["node_id": "\(node)", "error": "\(error)"])
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
            let planner = RereplicationPlanner(replicationFactor: replicationFactor)
            var queued: [FileKey: Set<NodeID>] = [:]
            for item in try await store.queueItems(QueueFilter(status: .pending, limit: 1_000_000)) where item.kind == .replicate
            {
                queued[item.fileKey, default: []].insert(item.targetNodeID)
            }
            var keys = Set<FileKey>()
            for node in longDown { keys.formUnion(try await store.filesExpected(on: node.id)) }
            var items: [NewQueueItem] = []
            for key in keys.sorted(by: { $0.rawValue < $1.rawValue }) {
                guard let entry = try await store.file(key) else { continue }
                for target in planner.extraTargets(locations: entry.locations, queuedTargets: queued[key] ?? [], serving: serving)
                {
                    items.append(
                        NewQueueItem(
                            fileKey: key, targetNodeID: target, sourceNodeID: nil, kind: .replicate,
                            reason: "replica holder DOWN longer than \(rereplicateAfter)"))
                }
            }
            guard !items.isEmpty else { return }
            try await store.enqueue(items, at: now)
            logger.info(
                "queued extra copies for a long outage",
                metadata: ["count": "\(items.count)", "down": "\(longDown.map(\.id.rawValue))"])
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
