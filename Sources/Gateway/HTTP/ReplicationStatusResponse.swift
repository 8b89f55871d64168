import DFSMetadata
import Foundation
import Hummingbird

/// `GET /status/replication`: how far the store is from full replication, and the queue's state.
struct ReplicationStatusResponse: ResponseEncodable {
    let replication_factor: Int
    let under_replicated_files: Int
    let under_replicated_bytes: Int64
    /// When the oldest open repair was queued, and its age in seconds (nil when nothing is missing).
    @NullWhenAbsent var oldest_missing_since: String?
    @NullWhenAbsent var oldest_missing_age_seconds: Double?
    /// Items per status, every status present.
    let queue: [String: Int]
    let failed_items: Int
    let nodes_up: Int
    let nodes_total: Int

    init(_ summary: ReplicationSummary, replicationFactor: Int, nodesUp: Int, nodesTotal: Int, now: Date) {
        replication_factor = replicationFactor
        under_replicated_files = summary.underReplicatedFiles
        under_replicated_bytes = summary.underReplicatedBytes
        oldest_missing_since = summary.oldestMissingSince.map(MetadataTime.format)
        oldest_missing_age_seconds = summary.oldestMissingSince.map {
            max(0, (now.timeIntervalSince($0) * 1000).rounded() / 1000)
        }
        queue = Dictionary(uniqueKeysWithValues: summary.queueCounts.map { ($0.key.rawValue, $0.value) })
        failed_items = summary.queueCounts[.failed] ?? 0
        nodes_up = nodesUp
        nodes_total = nodesTotal
    }
}

/// `POST /audit`: what an audit pass run now found.
struct AuditResponse: ResponseEncodable {
    let nodes_audited: Int
    let replicas_checked: Int
    let corrupt: Int
    let missing: Int
    let removed_orphans: Int
    let removed_deleted: Int

    init(_ report: AuditReport) {
        nodes_audited = report.nodesAudited
        replicas_checked = report.replicasChecked
        corrupt = report.corrupt
        missing = report.missing
        removed_orphans = report.removedOrphans
        removed_deleted = report.removedDeleted
    }
}
