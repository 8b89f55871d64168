import ArgumentParser
import DFSCore
import DFSServer
import Foundation
import Logging

/// `dfs-node`: parses options (each with a `DFS_<NAME>` fallback) into a `NodeConfiguration` and runs the node.
@main
struct NodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dfs-node",
        abstract: "Run a SwiftDFS storage node: it keeps blobs on local disk and replicates them on the gateway's instruction.",
        discussion: """
            The node serves the internal storage API (PUT, GET, HEAD and DELETE /blobs/<key>, GET /health, \
            GET /inventory). Clients talk to the gateway, not to nodes. Every option can also be set through \
            the environment variable shown beside it; a command-line value wins. SIGTERM or SIGINT stops the \
            node gracefully.
            """
    )

    @Option(help: Self.help("Node id, unique in the cluster (default: node-1)", "id", value: "id"))
    var id: String?

    @Option(help: Self.help("Address to listen on (default: 127.0.0.1)", "host", value: "address"))
    var host: String?

    @Option(help: Self.help("Port to listen on (default: 8001)", "port", value: "port"))
    var port: Int?

    @Option(
        name: .customLong("data"), help: Self.help("Data directory for blobs (default: ./dfs-data/<id>)", "data", value: "dir"))
    var dataDirectory: String?

    @Option(
        help: Self.help(
            "Base URL others use to reach this node (default: http[s]://<host>:<port>)", "advertise-url", value: "url"))
    var advertiseURL: String?

    @Option(help: Self.help("Gateway base URL to register with and heartbeat to (default: none)", "gateway", value: "url"))
    var gateway: String?

    @Option(help: Self.help("Role reported to the gateway: MAIN, REPLICA or BACKUP (default: none)", "role", value: "role"))
    var role: String?

    @Option(
        help: Self.help(
            "Give up on a replication target after this long without progress, e.g. 500ms, 30s, 2m (default: 30s)",
            "replication-timeout", value: "duration"))
    var replicationTimeout: DurationArgument?

    @Option(
        help: Self.help("Interval between registrations with the gateway (default: 10s)", "heartbeat-interval", value: "duration")
    )
    var heartbeatInterval: DurationArgument?

    @Option(
        help: Self.help(
            "Bytes this node may hold, e.g. 500GiB: its weight in placement and its limit (default: its file system's size)",
            "capacity", value: "size"))
    var capacity: ByteSizeArgument?

    @Option(
        help: Self.help(
            "Failure domain (a rack, host or room): no two copies of a file go to one zone while there are as many zones as copies (default: the node's id)",
            "zone", value: "name"))
    var zone: String?

    @Option(help: Self.help("Log level (default: info)", "log-level", value: "level"))
    var logLevel: Logger.Level?

    @Option(help: ClusterSecretOption.secretHelp) var clusterSecret: String?

    @Option(help: ClusterSecretOption.fileHelp) var clusterSecretFile: String?

    @Flag(
        help: InsecureOpenOption.help(
            "Allow a non-loopback --host without a cluster secret: anyone who can reach the port can then read, write and delete blobs."
        ))
    var insecureOpen = false

    func validate() throws {
        _ = try makeConfiguration()
    }

    @OptionGroup(title: "Slow and idle clients") var connectionLimits: ConnectionLimitOptions

    @OptionGroup(title: "TLS") var tls: TLSOptions

    func run() async throws {
        let configuration = try makeConfiguration()
        LogSetup.bootstrap(level: configuration.logLevel)
        var logger = Logger(label: "dfs.node")
        logger[metadataKey: "node_id"] = "\(configuration.nodeID)"
        logger.info("starting dfs-node", metadata: configuration.logMetadata)
        if configuration.clusterSecret == nil {
            logger.warning(
                "no cluster secret: this node answers anyone who can reach its port; start it with --cluster-secret-file")
        }
        let node = try await NodeApplication.build(configuration, logger: logger)
        try await node.run(supervisor: ParentWatchdog.fromEnvironment(logger: logger))
        logger.info("dfs-node stopped")
    }

    /// Command line, else environment, else default; every value checked here so a bad one fails at start.
    func makeConfiguration() throws -> NodeConfiguration {
        let rawID = try OptionEnvironment.resolve(id, "id", default: "node-1")
        let nodeID: NodeID
        do {
            nodeID = try NodeID(validating: rawID)
        } catch {
            throw ValidationError("--id '\(rawID)': \(error)")
        }
        let host = try OptionEnvironment.resolve(host, "host", default: "127.0.0.1")
        let port = try OptionEnvironment.resolve(port, "port", default: 8001)
        guard (1...65535).contains(port) else { throw ValidationError("--port must be between 1 and 65535") }
        let data = try OptionEnvironment.resolve(dataDirectory, "data", default: "./dfs-data/\(nodeID)")
        let security = try tls.resolve()
        let advertise = try OptionEnvironment.resolve(
            advertiseURL, "advertise-url", default: "\(security.scheme)://\(host):\(port)")
        let gatewayURL = gateway ?? OptionEnvironment.value(for: "gateway")
        let roleText = role ?? OptionEnvironment.value(for: "role")
        var nodeRole: NodeRole?
        if let roleText {
            guard let parsed = NodeRole(rawValue: roleText.uppercased()) else {
                throw ValidationError("--role must be MAIN, REPLICA or BACKUP, not '\(roleText)'")
            }
            nodeRole = parsed
        }
        let replication = try OptionEnvironment.resolve(
            replicationTimeout, "replication-timeout", default: DurationArgument(argument: "30s")!)
        guard replication.duration > .zero else { throw ValidationError("--replication-timeout must be positive") }
        let heartbeat = try OptionEnvironment.resolve(
            heartbeatInterval, "heartbeat-interval", default: DurationArgument(argument: "10s")!)
        guard heartbeat.duration > .zero else { throw ValidationError("--heartbeat-interval must be positive") }
        let secret = try ClusterSecretOption.resolve(secret: clusterSecret, file: clusterSecretFile)
        // Checked before anything binds: an open node on a reachable address hands every blob to the network.
        if secret == nil, !ListenAddress.isLoopback(host), !InsecureOpenOption.resolve(insecureOpen) {
            throw ValidationError(
                "refusing to listen on \(host) without a cluster secret: pass --cluster-secret-file FILE (the gateway's secret), or --insecure-open to run an open node"
            )
        }
        do {
            try security.checkExposure(host: host)
        } catch {
            throw ValidationError(error.message)
        }
        let capacity = try OptionEnvironment.resolve(capacity, "capacity")
        if let capacity, capacity.bytes <= 0 { throw ValidationError("--capacity must be positive") }
        let zoneName = zone ?? OptionEnvironment.value(for: "zone") ?? nodeID.rawValue
        do {
            _ = try NodeID(validating: zoneName)
        } catch {
            throw ValidationError("--zone '\(zoneName)': letters, digits, '.', '_' and '-' only, at most 64")
        }
        var configuration = NodeConfiguration(
            nodeID: nodeID,
            host: host,
            port: port,
            dataDirectory: URL(fileURLWithPath: data).standardizedFileURL.path,
            advertiseURL: try Self.baseURL(advertise, option: "advertise-url"),
            gatewayURL: try gatewayURL.map { try Self.baseURL($0, option: "gateway") },
            role: nodeRole,
            capacityBytes: capacity?.bytes,
            zone: zone ?? OptionEnvironment.value(for: "zone"),
            replicationTimeout: replication.duration,
            heartbeatInterval: heartbeat.duration,
            logLevel: try OptionEnvironment.resolve(logLevel, "log-level", default: .info)
        )
        configuration.clusterSecret = secret
        configuration.connectionLimits = try connectionLimits.resolve()
        configuration.transportSecurity = security
        return configuration
    }

    /// Help text naming the option's environment variable, with a short value placeholder.
    static func help(_ text: String, _ optionName: String, value: String) -> ArgumentHelp {
        var help = OptionEnvironment.help(text, optionName)
        help.valueName = value
        return help
    }

    /// An http(s) URL without its trailing slash.
    static func baseURL(_ text: String, option: String) throws -> String {
        guard text.hasPrefix("http://") || text.hasPrefix("https://"), URL(string: text)?.host != nil else {
            throw ValidationError("--\(option) must be an http:// or https:// URL, not '\(text)'")
        }
        return text.hasSuffix("/") ? String(text.dropLast()) : text
    }
}
