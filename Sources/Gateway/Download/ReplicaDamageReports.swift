import DFSClient
import DFSCore
import DFSMetadata
import Foundation
import Logging
import ServiceLifecycle

/// Damage that downloads ran into, recorded off the download's own path so the client waits for none of it.
///
/// A stream cut mid-transfer is either a node that died or one that found a damaged block and refused to send it;
/// asking the node (`HEAD`, which lists the blocks its reads found damaged, within the health timeout) tells them
/// apart. A damaged copy is marked CORRUPT and queued for repair, as when a node refuses a copy before the first
/// byte. Reports beyond the buffer are dropped: the next read of that copy, or the audit, finds the damage again.
final class ReplicaDamageReports: Service, Sendable {
    enum Report: Sendable {
        /// `node`'s stream of `key` broke mid-transfer, for a reason not yet known.
        case streamBroke(FileKey, NodeID)
        /// `node` refused its copy of `key` as damaged (CORRUPT) or missing (MISSING).
        case damaged(FileKey, NodeID, LocationStatus, reason: String)
    }

    private let store: any MetadataStore
    private let nodes: any NodeClient
    private let scoreboard: LatencyScoreboard
    private let timeout: Duration
    private let logger: Logger
    private let reports: AsyncStream<Report>
    private let continuation: AsyncStream<Report>.Continuation

    init(store: any MetadataStore, nodes: any NodeClient, scoreboard: LatencyScoreboard, timeout: Duration, logger: Logger) {
        self.store = store
        self.nodes = nodes
        self.scoreboard = scoreboard
        self.timeout = timeout
        self.logger = logger
        (reports, continuation) = AsyncStream.makeStream(of: Report.self, bufferingPolicy: .bufferingNewest(1024))
    }

    /// Queues a report; returns at once.
    func report(_ report: Report) { continuation.yield(report) }

    func run() async throws {
        for await report in reports.cancelOnGracefulShutdown() {
            await handle(report)
        }
    }

    /// Checks and records one report (what `run` does with each).
    func handle(_ report: Report) async {
        switch report {
        case .damaged(let key, let node, let status, let reason):
            await record(key, on: node, status: status, reason: reason)
        case .streamBroke(let key, let node):
            guard let endpoint = await scoreboard.score(of: node)?.endpoint else { return }
            // A node that died or hangs does not answer: nothing is known about its copy then.
            guard let blocks = try? await nodes.damagedBlocks(of: key, on: endpoint, timeout: timeout), !blocks.isEmpty else {
                return
            }
            await record(
                key, on: node, status: .corrupt,
                reason: "reads found blocks \(blocks.map(String.init).joined(separator: ",")) damaged")
        }
    }

    private func record(_ key: FileKey, on node: NodeID, status: LocationStatus, reason: String) async {
        do {
            if try await store.markReplicaLost(key, on: node, status: status, reason: reason, at: Date()) {
                logger.warning(
                    "replica damaged; queued for repair",
                    metadata: ["file_key": "\(key)", "node_id": "\(node)", "reason": "\(reason)"])
            }
        } catch {
            logger.error(
                "could not record a damaged replica", metadata: ["file_key": "\(key)", "node_id": "\(node)", "error": "\(error)"])
        }
    }
}
