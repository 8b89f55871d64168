import DFSClient
import DFSCore
import DFSMetadata
import Foundation

/// The gateway's domain objects, built once in `buildGateway` and shared by the routes and background services.
struct GatewayServices: Sendable {
    var configuration: GatewayConfiguration
    var store: any MetadataStore
    /// The S3 API's names, for what `/files` says about a file holding an object's bytes.
    var catalog: any S3Catalog
    var scoreboard: LatencyScoreboard
    var uploads: UploadCoordinator
    var downloads: DownloadCoordinator
    var deleter: FileDeleter
    var prober: HealthProber
    var repairer: RepairWorker
    var metrics: GatewayMetrics
    var auditor: ReplicaAuditor
    /// The last minutes of node and cluster samples the dashboard charts (`GET /status/history`).
    var history: SharedMetricsHistory
    /// API keys and cluster secret, checked before any handler runs.
    var access: AccessControl
    /// Asks the background loop to drain a node that just came back (from a live `/nodes/check`).
    var recoveryTrigger: @Sendable (NodeID) -> Void
}

extension GatewayServices {
    /// Drain, activate and remove (SPEC §10).
    var lifecycle: NodeLifecycle {
        NodeLifecycle(store: store, scoreboard: scoreboard, ledger: prober.lastHealth, replicationFactor: configuration.replicas)
    }
}
