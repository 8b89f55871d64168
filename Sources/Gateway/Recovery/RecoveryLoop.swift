import DFSCore
import DFSMetadata
import Foundation
import Logging
import ServiceLifecycle

/// The background loop of SPEC §4 "Recovery": probes nodes every `probeInterval`; when a node comes back UP
/// (confirmed by the hysteresis) reconciles its inventory, lets it serve and drains its queue at once; drains
/// every serving node's queue every `recoveryInterval`.
struct RecoveryLoop: Service {
    let prober: HealthProber
    let repairer: RepairWorker
    let reconciler: NodeReconciler
    let store: any MetadataStore
    let probeInterval: Duration
    let recoveryInterval: Duration
    /// A node came back, seen from outside the loop (a live `/nodes/check` that saw one come back).
    let triggers: AsyncStream<NodeID>
    let logger: Logger

    func run() async throws {
        // Cancelled on graceful shutdown: sleeps and the trigger stream end at once.
        try await cancelWhenGracefulShutdown {
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
            let (results, cameBack) = await prober.probeAll()
            sinceDrain += probeInterval
            let drainAll = firstTick || sinceDrain >= recoveryInterval
            if drainAll { sinceDrain = .zero }
            firstTick = false
            let returned = await bringBackReturningNodes()
            let toDrain = drainAll ? results.filter(\.isUsable).map(\.node.id) : returned
            if !toDrain.isEmpty {
                _ = try? await store.releaseExpiredClaims(now: Date())
            }
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
                logger.info("reconciled returning node", metadata: [
                    "node_id": "\(node)", "blobs": "\(report.listed)", "removed_deleted": "\(report.removedDeleted)",
                    "removed_orphans": "\(report.removedOrphans)", "queued_missing": "\(report.queuedMissing)",
                ])
                await prober.markReconciled(node)
                ready.append(node)
            } catch {
                logger.warning("reconciliation failed; the node stays out of service", metadata: ["node_id": "\(node)", "error": "\(error)"])
            }
        }
        return ready
    }

    private func drain(_ node: NodeID) async {
        do {
            let summary = try await repairer.drain(node, includeFailed: false)
            if summary.total > 0 {
                logger.info("recovery pass", metadata: [
                    "node_id": "\(node)", "total": "\(summary.total)", "success": "\(summary.success)",
                    "failed": "\(summary.failed)", "pending": "\(summary.pendingItems)",
                ])
            }
        } catch {
            logger.error("recovery pass failed", metadata: ["node_id": "\(node)", "error": "\(error)"])
        }
    }
}
