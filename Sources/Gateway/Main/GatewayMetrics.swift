import DFSCore
import DFSMetadata
import Foundation
import Prometheus
import Synchronization

/// One metric family as exported: its name, type, label names and meaning. `GatewayMetrics.declarations` lists them
/// all; the README's "Metrics" table mirrors it and the integration test checks every one appears in `/metrics`.
struct MetricDeclaration: Sendable, Equatable {
    enum Kind: String, Sendable { case counter, gauge, histogram }

    let name: String
    let kind: Kind
    let labels: [String]
    let help: String

    var descriptor: MetricNameDescriptor { MetricNameDescriptor(metricName: name, unitName: "", helpText: help) }
}

/// Every metric the gateway exports, declared in one place, served as Prometheus text at `/metrics`.
///
/// Labels come from bounded sets only: route templates (`/files/{key}`, never a key), a fixed list of methods,
/// status codes, node ids (the registered nodes), store operation names, queue statuses. Keys and secrets never
/// reach a label or a value.
final class GatewayMetrics: Sendable {
    // MARK: declarations

    static let httpRequests = MetricDeclaration(
        name: "dfs_http_requests_total", kind: .counter, labels: ["route", "method", "status"],
        help: "Client requests answered, by route template, method and status code.")
    static let httpRequestDuration = MetricDeclaration(
        name: "dfs_http_request_duration_seconds", kind: .histogram, labels: ["route", "method", "status"],
        help: "Time from a request's arrival until its response body was fully written.")
    static let httpReceivedBytes = MetricDeclaration(
        name: "dfs_http_received_bytes_total", kind: .counter, labels: ["route"],
        help: "Request body bytes read from clients (uploads), by route template.")
    static let httpSentBytes = MetricDeclaration(
        name: "dfs_http_sent_bytes_total", kind: .counter, labels: ["route"],
        help: "Response body bytes written to clients (downloads, JSON), by route template.")
    static let nodeRequestDuration = MetricDeclaration(
        name: "dfs_node_request_duration_seconds", kind: .histogram, labels: ["node_id", "operation", "outcome"],
        help: "Gateway calls to storage nodes until the node answered (transfers: until the answer head), by outcome ok/error.")
    static let nodeRequestErrors = MetricDeclaration(
        name: "dfs_node_request_errors_total", kind: .counter, labels: ["node_id", "operation"],
        help: "Gateway calls to storage nodes that failed (unreachable, refused, timed out, not found).")
    static let downloadFailovers = MetricDeclaration(
        name: "dfs_download_failovers_total", kind: .counter, labels: [],
        help: "Downloads moved to another replica because the one chosen failed, before the first byte or mid-stream.")
    static let downloadHedges = MetricDeclaration(
        name: "dfs_download_hedges_total", kind: .counter, labels: [],
        help: "Hedged download requests: a second replica asked because the first was slow.")
    static let uploadPrimaryStalls = MetricDeclaration(
        name: "dfs_upload_primary_stalls_total", kind: .counter, labels: [],
        help: "Upload primaries abandoned because they read nothing and answered nothing for --health-timeout.")
    static let uploadReplays = MetricDeclaration(
        name: "dfs_upload_replays_total", kind: .counter, labels: [],
        help: "Upload bodies sent again to the next node from the gateway's replay buffer after their primary stalled.")
    static let queueItems = MetricDeclaration(
        name: "dfs_queue_items", kind: .gauge, labels: ["status"], help: "Replication queue items by status.")
    static let underReplicatedFiles = MetricDeclaration(
        name: "dfs_replication_under_replicated_files", kind: .gauge, labels: [],
        help: "Live files with fewer verified copies than the replication factor.")
    static let underReplicatedBytes = MetricDeclaration(
        name: "dfs_replication_under_replicated_bytes", kind: .gauge, labels: [],
        help: "Total size of the files below the replication factor.")
    static let oldestMissingCopy = MetricDeclaration(
        name: "dfs_replication_oldest_missing_copy_seconds", kind: .gauge, labels: [],
        help: "Age of the oldest open repair (0 when none).")
    static let repairedItems = MetricDeclaration(
        name: "dfs_recovery_repaired_items_total", kind: .counter, labels: [],
        help: "Queue items completed by the recovery worker (copies made and queued deletes run).")
    static let repairedBytes = MetricDeclaration(
        name: "dfs_recovery_repaired_bytes_total", kind: .counter, labels: [],
        help: "Bytes copied to nodes by completed repairs (recovery throughput).")
    static let repairFailures = MetricDeclaration(
        name: "dfs_recovery_failed_attempts_total", kind: .counter, labels: [],
        help: "Repair attempts that failed and were rescheduled or marked FAILED.")
    static let auditedReplicas = MetricDeclaration(
        name: "dfs_audit_replicas_checked_total", kind: .counter, labels: [],
        help: "Replicas re-read and re-hashed by the bit-rot audit.")
    static let auditDamagedReplicas = MetricDeclaration(
        name: "dfs_audit_replicas_damaged_total", kind: .counter, labels: [],
        help: "Replicas the audit found corrupt or missing (each queued for repair).")
    static let auditLastCompleted = MetricDeclaration(
        name: "dfs_audit_last_completed_timestamp_seconds", kind: .gauge, labels: [],
        help: "Unix time the last audit pass finished (0 before the first).")
    static let metadataDuration = MetricDeclaration(
        name: "dfs_metadata_operation_duration_seconds", kind: .histogram, labels: ["operation", "outcome"],
        help: "Metadata store calls, by operation and outcome ok/error.")
    static let nodesUp = MetricDeclaration(
        name: "dfs_nodes_up", kind: .gauge, labels: [], help: "Storage nodes the gateway sees UP.")
    static let nodesTotal = MetricDeclaration(
        name: "dfs_nodes_total", kind: .gauge, labels: [], help: "Storage nodes the gateway knows.")

    /// Every family `/metrics` serves.
    static let declarations: [MetricDeclaration] = [
        httpRequests, httpRequestDuration, httpReceivedBytes, httpSentBytes, nodeRequestDuration, nodeRequestErrors,
        downloadFailovers, downloadHedges, uploadPrimaryStalls, uploadReplays, queueItems, underReplicatedFiles,
        underReplicatedBytes, oldestMissingCopy,
        repairedItems, repairedBytes, repairFailures, auditedReplicas, auditDamagedReplicas, auditLastCompleted,
        metadataDuration, nodesUp, nodesTotal,
    ]

    /// HTTP and node latencies: a tiny JSON answer takes a millisecond, a large transfer minutes.
    static let requestBuckets: [Duration] = [
        .milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
        .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10), .seconds(30),
        .seconds(60),
    ]
    /// Store calls: SQLite answers in microseconds, MySQL over a network in milliseconds.
    static let metadataBuckets: [Duration] = [
        .microseconds(100), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
        .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
        .seconds(5),
    ]
    /// Methods outside this set share one label value, so a client inventing methods cannot grow the series.
    static let knownMethods: Set<String> = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]

    // MARK: collectors

    let registry: PrometheusCollectorRegistry
    /// Plain running totals of the same traffic, which the dashboard's history turns into per-second rates.
    let activity = ActivityCounters()
    let downloadFailoverCount: Counter
    let downloadHedgeCount: Counter
    private let uploadPrimaryStallCount: Counter
    private let uploadReplayCount: Counter
    let repairedItemCount: Counter
    let repairedByteCount: Counter
    let repairFailureCount: Counter
    let auditedReplicaCount: Counter
    let auditDamagedReplicaCount: Counter
    let auditLastCompletedTime: Gauge
    private let underReplicatedFilesGauge: Gauge
    private let underReplicatedBytesGauge: Gauge
    private let oldestMissingCopyGauge: Gauge
    private let queueItemGauges: [QueueItemStatus: Gauge]
    private let nodesUpGauge: Gauge
    private let nodesTotalGauge: Gauge

    init() {
        let registry = PrometheusCollectorRegistry()
        self.registry = registry
        downloadFailoverCount = registry.makeCounter(descriptor: Self.downloadFailovers.descriptor)
        downloadHedgeCount = registry.makeCounter(descriptor: Self.downloadHedges.descriptor)
        uploadPrimaryStallCount = registry.makeCounter(descriptor: Self.uploadPrimaryStalls.descriptor)
        uploadReplayCount = registry.makeCounter(descriptor: Self.uploadReplays.descriptor)
        repairedItemCount = registry.makeCounter(descriptor: Self.repairedItems.descriptor)
        repairedByteCount = registry.makeCounter(descriptor: Self.repairedBytes.descriptor)
        repairFailureCount = registry.makeCounter(descriptor: Self.repairFailures.descriptor)
        auditedReplicaCount = registry.makeCounter(descriptor: Self.auditedReplicas.descriptor)
        auditDamagedReplicaCount = registry.makeCounter(descriptor: Self.auditDamagedReplicas.descriptor)
        auditLastCompletedTime = registry.makeGauge(descriptor: Self.auditLastCompleted.descriptor)
        underReplicatedFilesGauge = registry.makeGauge(descriptor: Self.underReplicatedFiles.descriptor)
        underReplicatedBytesGauge = registry.makeGauge(descriptor: Self.underReplicatedBytes.descriptor)
        oldestMissingCopyGauge = registry.makeGauge(descriptor: Self.oldestMissingCopy.descriptor)
        queueItemGauges = Dictionary(
            uniqueKeysWithValues: QueueItemStatus.allCases.map { status in
                (status, registry.makeGauge(descriptor: Self.queueItems.descriptor, labels: [("status", status.rawValue)]))
            })
        nodesUpGauge = registry.makeGauge(descriptor: Self.nodesUp.descriptor)
        nodesTotalGauge = registry.makeGauge(descriptor: Self.nodesTotal.descriptor)
    }

    // MARK: recording

    /// One client request, once its response body was written (or failed to be).
    /// - Parameter route: the matched route template, never the raw path.
    func recordRequest(route: String, method: String, status: Int, duration: Duration, receivedBytes: Int64, sentBytes: Int64) {
        let method = Self.knownMethods.contains(method) ? method : "OTHER"
        let handles = requestHandles.handle(for: [route, method, String(status)]) { [registry] in
            let labels = [("route", route), ("method", method), ("status", String(status))]
            return RequestHandles(
                count: registry.makeCounter(descriptor: Self.httpRequests.descriptor, labels: labels),
                duration: registry.makeDurationHistogram(
                    descriptor: Self.httpRequestDuration.descriptor, labels: labels, buckets: Self.requestBuckets),
                received: registry.makeCounter(descriptor: Self.httpReceivedBytes.descriptor, labels: [("route", route)]),
                sent: registry.makeCounter(descriptor: Self.httpSentBytes.descriptor, labels: [("route", route)]))
        }
        handles.count.increment()
        handles.duration.record(duration)
        handles.received.increment(by: receivedBytes)
        handles.sent.increment(by: sentBytes)
        activity.requestAnswered(route: route, method: method, status: status)
    }

    /// One call to a storage node. The error counter exists (at 0) from a node's first call, so dashboards see it.
    func recordNodeCall(node: NodeID, operation: String, duration: Duration, succeeded: Bool) {
        let outcome = succeeded ? "ok" : "error"
        let handles = nodeCallHandles.handle(for: [node.rawValue, operation, outcome]) { [registry] in
            NodeCallHandles(
                duration: registry.makeDurationHistogram(
                    descriptor: Self.nodeRequestDuration.descriptor,
                    labels: [("node_id", node.rawValue), ("operation", operation), ("outcome", outcome)],
                    buckets: Self.requestBuckets),
                errors: registry.makeCounter(
                    descriptor: Self.nodeRequestErrors.descriptor,
                    labels: [("node_id", node.rawValue), ("operation", operation)]))
        }
        handles.duration.record(duration)
        if !succeeded { handles.errors.increment() }
        activity.nodeCallFinished(node, operation: operation, succeeded: succeeded)
    }

    /// One metadata store call (`InstrumentedMetadataStore`).
    func recordMetadataOperation(_ operation: String, duration: Duration, succeeded: Bool) {
        let outcome = succeeded ? "ok" : "error"
        metadataHandles.handle(for: [operation, outcome]) { [registry] in
            registry.makeDurationHistogram(
                descriptor: Self.metadataDuration.descriptor, labels: [("operation", operation), ("outcome", outcome)],
                buckets: Self.metadataBuckets)
        }.record(duration)
    }

    private struct RequestHandles: Sendable {
        let count: Counter
        let duration: DurationHistogram
        let received: Counter
        let sent: Counter
    }

    private struct NodeCallHandles: Sendable {
        let duration: DurationHistogram
        let errors: Counter
    }

    private let requestHandles = MetricHandles<RequestHandles>()
    private let nodeCallHandles = MetricHandles<NodeCallHandles>()
    private let metadataHandles = MetricHandles<DurationHistogram>()

    func recordDownloadFailover() { downloadFailoverCount.increment() }

    func recordDownloadHedge() { downloadHedgeCount.increment() }

    /// An upload's primary stalled; `replayed` when its kept body went to the next node.
    func recordUploadPrimaryStall(replayed: Bool) {
        uploadPrimaryStallCount.increment()
        if replayed { uploadReplayCount.increment() }
    }

    // MARK: rendering

    /// Refreshes the gauges from the store (called when scraped, so values are never stale) and renders them.
    func render(summary: ReplicationSummary, nodesUp up: Int, nodesTotal total: Int, now: Date) -> String {
        underReplicatedFilesGauge.set(Int64(summary.underReplicatedFiles))
        underReplicatedBytesGauge.set(summary.underReplicatedBytes)
        oldestMissingCopyGauge.set(summary.oldestMissingSince.map { max(0, now.timeIntervalSince($0)) } ?? 0)
        for (status, gauge) in queueItemGauges { gauge.set(Int64(summary.queueCounts[status] ?? 0)) }
        nodesUpGauge.set(Int64(up))
        nodesTotalGauge.set(Int64(total))
        return registry.emitToString()
    }
}

/// A metric family's handles by label values, made once: the registry's `make…` builds a lookup key from every label
/// and takes its lock on each call, which showed as 3 % of the gateway's samples on small downloads (three metrics
/// per request). Label values come from bounded sets (see `GatewayMetrics`), so the table stays small.
private final class MetricHandles<Handles: Sendable>: Sendable {
    private let table = Mutex<[[String]: Handles]>([:])

    func handle(for labelValues: [String], make: () -> Handles) -> Handles {
        if let known = table.withLock({ $0[labelValues] }) { return known }
        let made = make()
        return table.withLock { table in
            if let known = table[labelValues] { return known }
            table[labelValues] = made
            return made
        }
    }
}
