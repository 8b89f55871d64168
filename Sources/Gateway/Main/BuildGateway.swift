import AsyncHTTPClient
import DFSClient
import DFSCore
import DFSMetadata
import DFSServer
import Foundation
import Hummingbird
import Logging
import S3Protocol
import ServiceLifecycle

/// A composed gateway: its services and the group that runs them.
struct Gateway {
    var services: GatewayServices
    var serviceGroup: ServiceGroup
    /// Every route the router serves, as "METHOD /path/{capture}": what the OpenAPI document must describe.
    var routes: [String]

    func run() async throws { try await serviceGroup.run() }
}

/// The one composition root: opens the store, registers nodes, wires coordinators, routes and services.
func buildGateway(
    _ config: GatewayConfiguration, logger: Logger, onListening: @escaping @Sendable (Int) async -> Void = { _ in }
) async throws -> Gateway {
    logger.info(
        "starting dfs-gateway",
        metadata: [
            "host": "\(config.host)", "port": "\(config.port)", "metadata": "\(config.metadata)",
            "nodes": "\(config.nodes.map { "\($0.id)=\($0.baseURL)" }.joined(separator: ","))",
            "replicas": "\(config.replicas)", "full_threshold": "\(config.fullThreshold)",
            "routing": "\(config.routing.rawValue)", "eject_after": "\(config.ejectAfter)",
            "stall_timeout": "\(config.stallTimeout)",
            "hedging":
                "\(config.isHedgingEnabled ? "\(config.hedging.minimumDelay)...\(config.hedging.maximumDelay), budget \(config.hedgeBudget)" : "off")",
            "write_quorum": "\(config.writeQuorum)",
            "recovery_interval": "\(config.recoveryInterval)", "probe_interval": "\(config.probeInterval)",
            "return_probe_interval": "\(config.returnProbeInterval)",
            "health_timeout": "\(config.healthTimeout)", "max_retries": "\(config.maxRetries)",
            "retry_backoff": "\(config.retryBackoff)",
            "recovery_concurrency": "\(config.recoveryConcurrency)",
            "recovery_rate": "\(config.recoveryRate.map(String.init) ?? "unlimited")",
            "status_change_probes": "\(config.statusChangeProbes)", "orphan_grace": "\(config.orphanGrace)",
            "rereplicate_after": "\(config.rereplicateAfter)",
            "audit_interval": "\(config.auditInterval)", "audit_rate": "\(config.auditRate)",
            "audit_batch": "\(config.auditBatch)", "max_upload_size": "\(config.maxUploadSize)",
            "replay_buffer": "\(config.replayBuffer)", "replay_budget": "\(config.replayBudget)",
            // Whether access control is on, never a key or the secret.
            "api_keys": "\(config.apiKeys.map { "\($0.count) keys" } ?? "none (open API)")",
            "cluster_secret": "\(config.clusterSecret == nil ? "none" : "set")",
            "tls": "\(config.transportSecurity.logDescription)",
        ])
    // Read before anything opens: a gateway that cannot serve its certificate must not start at all.
    let certificate = try config.transportSecurity.serverCertificate.map {
        try ServerCertificate(certificateFile: $0.certificateFile, keyFile: $0.keyFile)
    }
    if config.apiKeys == nil {
        logger.warning("no API keys: every client may upload, download and delete (configure --api-keys-file)")
    }
    if config.clusterSecret == nil {
        logger.warning("no cluster secret: nodes and /internal routes are open (configure --cluster-secret-file)")
    }
    let metrics = GatewayMetrics()
    let driver: any MetadataStore
    let catalog: any S3Catalog
    switch config.metadata {
    case .sqlite(let path):
        let database = try await SQLiteMetadataStore.open(path: path, logger: Logger(label: "dfs.metadata"))
        // One gateway per SQLite file, so every write passes here and cached file entries and objects cannot go stale.
        catalog = CachingS3Catalog(database)
        driver = CachingMetadataStore(database)
        // One gateway per SQLite file: any IN_PROGRESS item belongs to a previous run of this process that died.
        let released = try await driver.releaseExpiredClaims(now: .distantFuture)
        if released > 0 { logger.info("returned interrupted repairs to PENDING", metadata: ["count": "\(released)"]) }
    case .mysql(let url):
        var options = try MySQLConnectionOptions(url: url)
        if let password = config.metadataPassword { options.password = password }
        options.maximumConnections = config.metadataConnections
        let database = try await MySQLMetadataStore.open(options, logger: Logger(label: "dfs.metadata"))
        driver = database
        catalog = database
        // Other gateways may share this database: their IN_PROGRESS items are live, so only claims whose lease
        // ran out return to PENDING (here and in the recovery loop), never all of them.
        let released = try await driver.releaseExpiredClaims(now: Date())
        if released > 0 { logger.info("returned expired repair claims to PENDING", metadata: ["count": "\(released)"]) }
    }

    let store: any MetadataStore = InstrumentedMetadataStore(driver) { operation, duration, succeeded in
        metrics.recordMetadataOperation(operation, duration: duration, succeeded: succeeded)
    }

    let scoreboard = LatencyScoreboard(
        halfLife: config.latencyHalfLife, policy: config.routing, ejectAfter: config.ejectAfter,
        hedging: config.isHedgingEnabled ? config.hedging : nil, hedgeBudget: config.hedgeBudget)
    for (index, node) in config.nodes.enumerated() {
        let role = NodeRole.defaultRole(forIndex: index)
        try await store.registerNode(id: node.id, address: node.baseURL, role: role)
    }
    // Nodes that registered themselves earlier are known from the metadata; start them DOWN until probed.
    for record in try await store.nodes() {
        await scoreboard.register(NodeEndpoint(id: record.id, baseURL: record.address), role: record.role, isUp: false)
    }

    let httpClient = HTTPNodeClient.makeHTTPClient(
        connectTimeout: config.healthTimeout, idleTimeout: config.nodeTimeout,
        trustRoots: TrustRoots(caFile: config.transportSecurity.certificateAuthorityFile))
    let nodeClient = InstrumentedNodeClient(
        base: HTTPNodeClient(
            httpClient: httpClient,
            // A primary drops a hung replication target within the health timeout too; while it waits for one, it
            // still answers the upload's health checks, so it is not taken for hung itself.
            timeouts: .init(
                control: config.nodeTimeout, transferIdle: config.nodeTimeout, replicaIdleLimit: config.healthTimeout),
            clusterSecret: config.clusterSecret),
        metrics: metrics)
    let prober = HealthProber(
        store: store, nodes: nodeClient, scoreboard: scoreboard,
        availability: NodeAvailability(threshold: config.statusChangeProbes), timeout: config.healthTimeout,
        logger: Logger(label: "dfs.prober"))
    let damageReports = ReplicaDamageReports(
        store: store, nodes: nodeClient, scoreboard: scoreboard, timeout: config.healthTimeout,
        logger: Logger(label: "dfs.download"))
    let downloads = DownloadCoordinator(
        store: store, nodes: nodeClient, scoreboard: scoreboard, firstByteTimeout: config.healthTimeout,
        stallTimeout: config.stallTimeout,
        events: DownloadEvents(
            hedgeSent: { _ in metrics.recordDownloadHedge() },
            failedOver: { _, _ in metrics.recordDownloadFailover() },
            sourceBroke: { damageReports.report(.streamBroke($0, $1)) },
            copyDamaged: { damageReports.report(.damaged($0, $1, $2, reason: $3)) }))
    // Unique across gateways sharing one MySQL (pids repeat across hosts): leases and claims are checked by owner.
    let gatewayInstance = "gateway-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString.prefix(8).lowercased())"
    let repairer = RepairWorker(
        store: store, nodes: nodeClient, downloads: downloads, scoreboard: scoreboard, maxRetries: config.maxRetries,
        backoff: RetryBackoff(base: config.retryBackoff), concurrency: config.recoveryConcurrency,
        rateLimiter: TransferRateLimiter(bytesPerSecond: config.recoveryRate),
        workerID: gatewayInstance,
        lease: config.repairLease, logger: Logger(label: "dfs.recovery"), metrics: metrics, rooms: prober.lastHealth,
        fullThreshold: config.fullThreshold)
    let reconciler = NodeReconciler(
        store: store, nodes: nodeClient, orphanGrace: config.orphanGrace, pageSize: 1000, logger: Logger(label: "dfs.recovery"))
    let auditor = ReplicaAuditor(
        store: store, nodes: nodeClient, scoreboard: scoreboard, reconciler: reconciler,
        rateLimiter: TransferRateLimiter(bytesPerSecond: config.auditRate), batchSize: config.auditBatch,
        logger: Logger(label: "dfs.audit"),
        metrics: metrics)
    // Probe once before serving so the first requests route to nodes known to be UP.
    _ = await prober.probeAll()

    let history = SharedMetricsHistory(window: config.historyWindow)
    let (triggerStream, triggerContinuation) = AsyncStream.makeStream(of: NodeID.self, bufferingPolicy: .bufferingNewest(64))
    let services = GatewayServices(
        configuration: config, store: store, catalog: catalog, scoreboard: scoreboard,
        uploads: UploadCoordinator(
            store: store, nodes: nodeClient, scoreboard: scoreboard, replicationFactor: config.replicas,
            writeQuorum: config.writeQuorum,
            livenessTimeout: config.healthTimeout, stallLimit: config.healthTimeout,
            replay: ReplayPolicy(bufferLimit: config.replayBuffer, budget: ReplayBudget(bytes: config.replayBudget)),
            primaryStalled: { _, replayed in metrics.recordUploadPrimaryStall(replayed: replayed) },
            rooms: prober.lastHealth, fullThreshold: config.fullThreshold),
        downloads: downloads,
        deleter: FileDeleter(store: store, nodes: nodeClient, scoreboard: scoreboard, nodeDeadline: config.healthTimeout),
        prober: prober, repairer: repairer, metrics: metrics, auditor: auditor, history: history,
        access: AccessControl(keys: config.apiKeys, clusterSecret: config.clusterSecret),
        recoveryTrigger: { triggerContinuation.yield($0) })

    let router = Router(context: GatewayContext.self)
    GatewayRoutes(services: services).register(on: router)
    HistoryRoutes(services: services).register(on: router)
    DashboardRoutes().register(on: router)
    OpenAPIRoutes().register(on: router)
    // Keep this the last registration: it answers 405 for the routes registered above it.
    router.add(middleware: MethodNotAllowedMiddleware(routes: router.routes))
    let (limits, limitWarning) = config.connectionLimits.fittedToDescriptorLimit()
    if let limitWarning { logger.warning("\(limitWarning)") }
    let server = ContinueAwareHTTPServer(
        responder: router.buildResponder(), host: config.host, port: config.port, serverName: "dfs-gateway",
        limits: limits, certificate: certificate, logger: logger,
        onServerRunning: { port in
            logger.info(
                "dfs-gateway listening", metadata: ["url": "\(config.transportSecurity.scheme)://\(config.host):\(port)"])
            await onListening(port)
        })
    let loop = RecoveryLoop(
        prober: prober, repairer: repairer,
        reconciler: reconciler,
        store: store, rereplicateAfter: config.rereplicateAfter, replicationFactor: config.replicas,
        probeInterval: config.probeInterval,
        recoveryInterval: config.recoveryInterval, returnProbeInterval: config.returnProbeInterval, triggers: triggerStream,
        announceReturn: { triggerContinuation.yield($0) }, logger: Logger(label: "dfs.recovery"))

    var mover = repairer
    mover.rateLimiter = TransferRateLimiter(bytesPerSecond: config.rebalanceRate)
    let rebalancer = RebalanceLoop(
        store: store, nodes: nodeClient, prober: prober, mover: mover,
        reconciler: PlacementReconciler(
            replicationFactor: config.replicas,
            placer: ReplicaPlacer(replicas: config.replicas, fullThreshold: config.fullThreshold)),
        idleInterval: config.recoveryInterval, logger: Logger(label: "dfs.rebalance"))

    var serviceConfigurations: [ServiceGroupConfiguration.ServiceConfiguration] = [
        .init(service: ClosingService(name: "metadata") { try await store.close() }),
        .init(service: ClosingService(name: "http-client") { try await httpClient.shutdown() }),
        .init(service: damageReports),
        .init(service: loop),
        .init(service: rebalancer),
        .init(
            service: HistorySampler(
                history: history, counters: metrics.activity, scoreboard: scoreboard, store: store,
                replicationFactor: config.replicas,
                clock: ContinuousClock(), logger: Logger(label: "dfs.history"))),
    ]
    if config.auditInterval > .zero {
        serviceConfigurations.append(.init(service: AuditLoop(auditor: auditor, interval: config.auditInterval)))
    }
    serviceConfigurations += [
        .init(service: server)
    ]
    if let s3 = config.s3 {
        let objects = S3Objects(
            catalog: catalog, uploads: services.uploads, downloads: services.downloads, deleter: services.deleter,
            maxUploadSize: config.maxUploadSize)
        let responder = S3Responder(
            objects: objects, verifier: S3RequestVerifier(region: s3.region, credentials: s3.credentials, now: { Date() }),
            region: s3.region, domain: s3.domain)
        serviceConfigurations.append(
            .init(
                service: ContinueAwareHTTPServer(
                    responder: responder, host: config.host, port: s3.port, serverName: "dfs-gateway", limits: limits,
                    certificate: certificate, logger: logger,
                    onServerRunning: { port in
                        logger.info(
                            "S3 API listening",
                            metadata: [
                                "url": "\(config.transportSecurity.scheme)://\(config.host):\(port)", "region": "\(s3.region)",
                                "keys": "\(s3.credentials.count)",
                            ])
                    })))
        serviceConfigurations.append(
            .init(
                service: MultipartExpiryLoop(
                    objects: objects, expiry: s3.multipartExpiry, logger: Logger(label: "dfs.s3"))))
        serviceConfigurations.append(
            .init(service: WholeObjectDigestLoop(objects: objects, owner: gatewayInstance, logger: Logger(label: "dfs.s3"))))
    }
    if let certificate {
        serviceConfigurations.append(.init(service: CertificateReloader(certificate: certificate, logger: logger)))
    }
    if let watchdog = ParentWatchdog.fromEnvironment(logger: logger) {
        serviceConfigurations.append(.init(service: watchdog, successTerminationBehavior: .gracefullyShutdownGroup))
    }
    let group = ServiceGroup(
        configuration: .init(services: serviceConfigurations, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
    return Gateway(services: services, serviceGroup: group, routes: router.routes.map { "\($0.method) \($0.path)" })
}

/// Holds a resource open while the group runs and closes it on shutdown (services stop in reverse order,
/// so the store and HTTP client outlive the server and the recovery loop).
struct ClosingService: Service {
    let name: String
    let close: @Sendable () async throws -> Void

    func run() async throws {
        try? await gracefulShutdown()
        try await close()
    }
}
