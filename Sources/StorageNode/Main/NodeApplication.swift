import AsyncHTTPClient
import DFSClient
import DFSCore
import DFSServer
import Hummingbird
import Logging
import NIOPosix
import ServiceLifecycle

/// The composition root: builds the node's parts from a `NodeConfiguration`; tests build it too.
struct NodeApplication: Sendable {
    let configuration: NodeConfiguration
    let store: BlobStore
    let httpClient: HTTPClient
    let ioThreads: NIOThreadPool
    let responder: RouterResponder<BasicRequestContext>
    /// The pair served over HTTPS (nil: plain HTTP); SIGHUP reloads it.
    let certificate: ServerCertificate?
    let logger: Logger

    /// Opens the store and wires store, replication and routes. Call `run` (or `services`) afterwards,
    /// which also releases the HTTP client and the I/O threads at the end.
    static func build(_ configuration: NodeConfiguration, logger: Logger) async throws -> NodeApplication {
        // Read before anything opens: a node that cannot serve its certificate must not start at all.
        let certificate = try configuration.transportSecurity.serverCertificate.map {
            try ServerCertificate(certificateFile: $0.certificateFile, keyFile: $0.keyFile)
        }
        let ioThreads = NIOThreadPool(numberOfThreads: configuration.ioThreadCount)
        ioThreads.start()
        let store: BlobStore
        do {
            store = try await BlobStore.open(
                at: configuration.dataDirectory, threads: ioThreads, logger: logger, capacityBytes: configuration.capacityBytes)
        } catch {
            try? await ioThreads.shutdownGracefully()
            throw error
        }
        let timeout = configuration.replicationTimeout
        let httpClient = HTTPNodeClient.makeHTTPClient(
            connectTimeout: min(.seconds(5), timeout), idleTimeout: timeout,
            trustRoots: TrustRoots(caFile: configuration.transportSecurity.certificateAuthorityFile))
        // Replication fan-out to other nodes carries the secret too: they check it like any other caller.
        let nodeClient = HTTPNodeClient(
            httpClient: httpClient, timeouts: .init(transferIdle: timeout), clusterSecret: configuration.clusterSecret)
        let coordinator = PutCoordinator(
            nodeID: configuration.nodeID,
            store: store,
            replicator: ReplicaStreamer(client: nodeClient, idleTimeout: timeout)
        )
        let router = NodeRouter.make(
            nodeID: configuration.nodeID, zone: configuration.zone, store: store, coordinator: coordinator,
            clusterSecret: configuration.clusterSecret)
        logger.info(
            "blob store open",
            metadata: [
                "data": "\(configuration.dataDirectory)", "blob_count": "\(store.blobCount)",
                "stored_bytes": "\(store.storedBytes)",
            ]
        )
        return NodeApplication(
            configuration: configuration,
            store: store,
            httpClient: httpClient,
            ioThreads: ioThreads,
            responder: router.buildResponder(),
            certificate: certificate,
            logger: logger
        )
    }

    /// The services in start order; a ServiceGroup stops them in reverse: watchdog and server first, then
    /// the heartbeat, and only then the HTTP client and the I/O threads they were using.
    func services(
        supervisor: ParentWatchdog? = nil,
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> [ServiceGroupConfiguration.ServiceConfiguration] {
        let httpClient = self.httpClient
        let ioThreads = self.ioThreads
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: ShutdownHook { try await ioThreads.shutdownGracefully() }, serviceName: "io-threads"),
            .init(service: ShutdownHook { try await httpClient.shutdown() }, serviceName: "http-client"),
        ]
        if let gatewayURL = configuration.gatewayURL {
            services.append(
                .init(
                    service: GatewayRegistration(
                        gatewayURL: gatewayURL,
                        announcement: .init(
                            id: configuration.nodeID.rawValue, address: configuration.advertiseURL,
                            role: configuration.role?.rawValue),
                        interval: configuration.heartbeatInterval,
                        timeout: configuration.registrationTimeout,
                        httpClient: httpClient,
                        clusterSecret: configuration.clusterSecret,
                        logger: Logger(label: "dfs.node.registration")
                    ), serviceName: "gateway-registration"))
        }
        let (limits, limitWarning) = configuration.connectionLimits.fittedToDescriptorLimit()
        if let limitWarning { logger.warning("\(limitWarning)") }
        services.append(
            .init(
                service: ContinueAwareHTTPServer(
                    responder: responder,
                    host: configuration.host,
                    port: configuration.port,
                    serverName: "dfs-node",
                    limits: limits,
                    certificate: certificate,
                    logger: logger,
                    onServerRunning: onServerRunning
                ), serviceName: "http-server"))
        if let certificate {
            services.append(
                .init(
                    service: CertificateReloader(certificate: certificate, logger: logger), serviceName: "certificate-reloader"))
        }
        if let supervisor {
            // Its return means the supervisor died: stop everything gracefully rather than cancel.
            services.append(
                .init(service: supervisor, successTerminationBehavior: .gracefullyShutdownGroup, serviceName: "parent-watchdog"))
        }
        return services
    }

    /// Runs until SIGTERM or SIGINT (or the supervisor's death), then stops gracefully.
    func run(supervisor: ParentWatchdog?) async throws {
        let logger = self.logger
        let group = ServiceGroup(
            configuration: .init(
                services: services(supervisor: supervisor) { port in
                    logger.info("listening", metadata: ["port": "\(port)", "advertise_url": "\(configuration.advertiseURL)"])
                },
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            ))
        try await group.run()
    }
}
