import DFSCore
import DFSMetadata
import Foundation
import Logging
import ServiceLifecycle

/// The background loop of SPEC §4 "Recovery": probes nodes every `probeInterval`, drains a node's queue as
/// soon as it comes back UP, and drains every UP node's queue every `recoveryInterval`.
struct RecoveryLoop: Service {
    let prober: HealthProber
    let repairer: RepairWorker
    let store: any MetadataStore
    let probeInterval: Duration
    let recoveryInterval: Duration
    /// Nodes to drain at once, from outside the loop (a live `/nodes/check` that saw one come back).
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
        for await node in triggers {
            await drain(node)
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
            let toDrain = drainAll ? results.filter(\.isUp).map(\.node.id) : cameBack
            if !toDrain.isEmpty {
                _ = try? await store.releaseExpiredClaims(now: Date())
            }
            for node in toDrain { await drain(node) }
            do {
                try await Task.sleep(for: probeInterval)
            } catch {
                return
            }
        }
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
