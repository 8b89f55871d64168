import ArgumentParser
import DFSCore
import DFSServer
import Foundation
import S3Protocol
import Logging

@main
struct GatewayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dfs-gateway",
        abstract: "The SwiftDFS gateway: the one endpoint clients use.",
        discussion: """
            Routes uploads and downloads to storage nodes by measured latency, verifies every replica's \
            SHA-256, keeps metadata in SQLite or MySQL and repairs missing replicas from a durable queue. \
            Every option can also be set with the environment variable shown in its help.
            """)

    @Option(help: OptionEnvironment.help("Address to listen on.", "host")) var host: String?
    @Option(help: OptionEnvironment.help("Port to listen on (default 8080).", "port")) var port: Int?
    @Option(
        help: OptionEnvironment.help(
            "Metadata store: sqlite:PATH or mysql://USER:PASS@HOST:PORT/DB (default sqlite:./dfs-data/metadata.sqlite).",
            "metadata"))
    var metadata: String?
    @Option(
        help: OptionEnvironment.help(
            "File whose first line is the MySQL password; overrides the URL's. DFS_MYSQL_PASSWORD sets it directly.",
            "metadata-password-file"))
    var metadataPasswordFile: String?
    @Option(help: OptionEnvironment.help("Connections to MySQL this gateway opens at most (default 8).", "metadata-connections"))
    var metadataConnections: Int?
    @Option(
        name: .customLong("node"),
        help: OptionEnvironment.help(
            "A storage node as ID=URL, e.g. node-1=http://127.0.0.1:8001; repeatable, the first is MAIN. The variable takes a comma-separated list.",
            "node"))
    var nodes: [String] = []
    @Option(help: OptionEnvironment.help("Copies to keep of every file (default 3).", "replicas")) var replicas: Int?
    @Option(
        help: OptionEnvironment.help("Verified copies an upload needs before it is acknowledged (default 1).", "write-quorum"))
    var writeQuorum: Int?
    @Option(
        help: OptionEnvironment.help(
            "No new copies on a node whose used share of its capacity reaches this, e.g. 95% or 0.95 (default 95%).",
            "full-threshold"))
    var fullThreshold: String?
    @Option(
        help: OptionEnvironment.help(
            "How often the recovery loop drains the replication queue (default 30s).", "recovery-interval"))
    var recoveryInterval: DurationArgument?
    @Option(help: OptionEnvironment.help("How often nodes are probed for health and latency (default 5s).", "probe-interval"))
    var probeInterval: DurationArgument?
    @Option(
        help: OptionEnvironment.help(
            "How often nodes left out of routing (DOWN, or ejected after failed requests) are probed, so one that answers again is used again quickly; 0s turns it off (default 1s, at most --probe-interval).",
            "return-probe-interval"))
    var returnProbeInterval: DurationArgument?
    @Option(
        help: OptionEnvironment.help("Timeout of one health probe and of connecting to a node (default 2s).", "health-timeout"))
    var healthTimeout: DurationArgument?
    @Option(help: OptionEnvironment.help("A node transfer fails after this long without a byte (default 30s).", "node-timeout"))
    var nodeTimeout: DurationArgument?
    @Option(help: OptionEnvironment.help("Attempts before a queue item becomes FAILED (default 5).", "max-retries"))
    var maxRetries: Int?
    @Option(
        help: OptionEnvironment.help(
            "First wait before retrying a failed repair; doubles per failure, capped at 10 min (default 2s).", "retry-backoff"))
    var retryBackoff: DurationArgument?
    @Option(help: OptionEnvironment.help("Repairs run at once per node (default 4).", "recovery-concurrency"))
    var recoveryConcurrency: Int?
    @Option(
        help: OptionEnvironment.help(
            "How long a claimed repair stays with a gateway that stopped renewing it, e.g. one that died (default 60s).",
            "repair-lease"))
    var repairLease: DurationArgument?
    @Option(
        help: OptionEnvironment.help(
            "Bandwidth cap shared by all repair streams, bytes per second, e.g. 50MiB; 0 = no cap (default 0).", "recovery-rate"))
    var recoveryRate: ByteSizeArgument?
    @Option(
        help: OptionEnvironment.help(
            "Bandwidth cap of the copies made by drains and rebalancing, bytes per second, e.g. 20MiB; 0 = no cap (default 50MiB).",
            "rebalance-rate"))
    var rebalanceRate: ByteSizeArgument?
    @Option(
        help: OptionEnvironment.help(
            "Consecutive probes that must agree before a node is marked UP or DOWN (default 2).", "status-change-probes"))
    var statusChangeProbes: Int?
    @Option(
        help: OptionEnvironment.help("Age after which a blob no file owns is deleted from a node (default 1h).", "orphan-grace"))
    var orphanGrace: DurationArgument?
    @Option(help: OptionEnvironment.help("Time between bit-rot audit passes; 0 = off (default 1h).", "audit-interval"))
    var auditInterval: DurationArgument?
    @Option(help: OptionEnvironment.help("Bytes per second an audit pass may re-read, e.g. 20MiB (default 20MiB).", "audit-rate"))
    var auditRate: ByteSizeArgument?
    @Option(
        help: OptionEnvironment.help(
            "Replicas re-hashed per node per audit pass, least recently verified first (default 1000).", "audit-batch"))
    var auditBatch: Int?
    @Option(
        help: OptionEnvironment.help(
            "A node DOWN this long has its copies re-made on other nodes; shorter outages are waited out (default 5m).",
            "rereplicate-after"))
    var rereplicateAfter: DurationArgument?
    @Option(help: OptionEnvironment.help("Largest accepted upload, e.g. 10GiB (default 10GiB).", "max-upload-size"))
    var maxUploadSize: ByteSizeArgument?
    @Option(
        help: OptionEnvironment.help(
            "Upload bodies up to this size are also kept in gateway memory while they stream, so that one whose primary node stops reading or answering is sent again to the next node; 0 disables (default 8MiB).",
            "replay-buffer"))
    var replayBuffer: ByteSizeArgument?
    @Option(
        help: OptionEnvironment.help(
            "Memory all uploads' replay buffers share; an upload that finds it used up streams without one (default 256MiB).",
            "replay-budget"))
    var replayBudget: ByteSizeArgument?
    @Option(
        help: OptionEnvironment.help(
            "Node choice: latency (default), or round-robin / random for benchmark comparisons.", "routing"))
    var routing: String?
    @Option(
        help: OptionEnvironment.help(
            "Half-life of the latency average; older samples count half after this long (default 5s).", "latency-half-life"))
    var latencyHalfLife: DurationArgument?
    @Option(
        help: OptionEnvironment.help(
            "Consecutive failed requests or timeouts that eject a node from selection until its next successful probe (default 2).",
            "eject-after"))
    var ejectAfter: Int?
    @Option(
        help: OptionEnvironment.help(
            "Mid-download, a source that sends no byte for this long is replaced by another replica at the byte reached (default 2s).",
            "stall-timeout"))
    var stallTimeout: DurationArgument?
    @Option(
        help: OptionEnvironment.help(
            "Bounds MIN[,MAX] of the hedge delay: a download whose first byte is later than the node's recent p95, clamped to these, also asks the next replica (default 20ms,500ms).",
            "hedge-after"))
    var hedgeAfter: HedgeDelayBounds?
    @Option(
        help: OptionEnvironment.help(
            "Share of downloads that may send a hedge request, e.g. 5% or 0.05 (default 5%).", "hedge-budget"))
    var hedgeBudget: FractionArgument?
    @Flag(
        help: OptionEnvironment.help(
            "Switch hedged reads off (a download then waits for its first replica up to --health-timeout).", "no-hedging"))
    var noHedging = false
    @Option(
        help: OptionEnvironment.help(
            "Log level: trace, debug, info, notice, warning, error, critical (default info).", "log-level"))
    var logLevel: Logger.Level?
    @Option(help: ClusterSecretOption.secretHelp) var clusterSecret: String?
    @Option(help: ClusterSecretOption.fileHelp) var clusterSecretFile: String?
    @Option(
        help: OptionEnvironment.help(
            "Client API keys, one 'read-only TOKEN [NAME]' or 'read-write TOKEN [NAME]' per line, # comments; without it the API is open.",
            "api-keys-file"))
    var apiKeysFile: String?
    @Flag(
        help: InsecureOpenOption.help(
            "Allow a non-loopback --host without API keys and cluster secret: anyone who can reach it can read and delete every file."
        ))
    var insecureOpen = false
    @Option(help: OptionEnvironment.help("Serve the S3-compatible API on this port (off unless set).", "s3-port"))
    var s3Port: Int?
    @Option(
        help: OptionEnvironment.help(
            "S3 keys, one 'ACCESS_KEY_ID SECRET_ACCESS_KEY NAME read-write|read-only' per line, # comments (needed with --s3-port).",
            "s3-credentials-file"))
    var s3CredentialsFile: String?
    @Option(help: OptionEnvironment.help("Region S3 clients must sign for (default us-east-1).", "s3-region"))
    var s3Region: String?
    @Option(
        help: OptionEnvironment.help(
            "Also accept virtual-host style S3 requests, bucket.DOMAIN (path style always works).", "s3-domain"))
    var s3Domain: String?
    @Option(
        help: OptionEnvironment.help(
            "Abort S3 multipart uploads not completed within this long, deleting their parts (default 7d).",
            "multipart-expiry"))
    var multipartExpiry: DurationArgument?
    @OptionGroup(title: "Slow and idle clients") var connectionLimits: ConnectionLimitOptions
    @OptionGroup(title: "TLS") var tls: TLSOptions

    func configuration() throws -> GatewayConfiguration {
        var config = GatewayConfiguration()
        config.host = try OptionEnvironment.resolve(host, "host", default: config.host)
        config.port = try OptionEnvironment.resolve(port, "port", default: config.port)
        config.metadata = try MetadataLocation(
            parsing: try OptionEnvironment.resolve(metadata, "metadata", default: config.metadata.description))
        config.metadataConnections = try OptionEnvironment.resolve(
            metadataConnections, "metadata-connections", default: config.metadataConnections)
        if let passwordFile = metadataPasswordFile ?? OptionEnvironment.value(for: "metadata-password-file") {
            guard let contents = try? String(contentsOfFile: passwordFile, encoding: .utf8) else {
                throw ConfigurationError("--metadata-password-file \(passwordFile) cannot be read")
            }
            config.metadataPassword =
                contents.split(separator: "\n", omittingEmptySubsequences: false).first.map(String.init) ?? ""
        } else if let password = OptionEnvironment.value(for: "mysql-password") {
            config.metadataPassword = password
        }
        let nodeSpecs =
            nodes.isEmpty ? (OptionEnvironment.value(for: "node")?.split(separator: ",").map(String.init) ?? []) : nodes
        config.nodes = try nodeSpecs.map { spec in
            let parsed = try NodeProtocol.decodeTargets(spec)
            guard parsed.count == 1 else { throw ConfigurationError("--node takes one ID=URL, got '\(spec)'") }
            return parsed[0]
        }
        config.replicas = try OptionEnvironment.resolve(replicas, "replicas", default: config.replicas)
        config.writeQuorum = try OptionEnvironment.resolve(writeQuorum, "write-quorum", default: config.writeQuorum)
        if let text = fullThreshold ?? OptionEnvironment.value(for: "full-threshold") {
            guard let share = GatewayConfiguration.parseShare(text) else {
                throw ConfigurationError("--full-threshold '\(text)' is not a share such as 95% or 0.95")
            }
            config.fullThreshold = share
        }
        config.recoveryInterval = try OptionEnvironment.resolve(
            recoveryInterval, "recovery-interval", default: DurationArgument(argument: "30s")!
        ).duration
        config.probeInterval = try OptionEnvironment.resolve(
            probeInterval, "probe-interval", default: DurationArgument(argument: "5s")!
        ).duration
        config.returnProbeInterval = try OptionEnvironment.resolve(
            returnProbeInterval, "return-probe-interval", default: DurationArgument(argument: "1s")!
        ).duration
        config.healthTimeout = try OptionEnvironment.resolve(
            healthTimeout, "health-timeout", default: DurationArgument(argument: "2s")!
        ).duration
        config.nodeTimeout = try OptionEnvironment.resolve(
            nodeTimeout, "node-timeout", default: DurationArgument(argument: "30s")!
        ).duration
        config.maxRetries = try OptionEnvironment.resolve(maxRetries, "max-retries", default: config.maxRetries)
        config.retryBackoff = try OptionEnvironment.resolve(
            retryBackoff, "retry-backoff", default: DurationArgument(argument: "2s")!
        ).duration
        config.recoveryConcurrency = try OptionEnvironment.resolve(
            recoveryConcurrency, "recovery-concurrency", default: config.recoveryConcurrency)
        config.repairLease = try OptionEnvironment.resolve(
            repairLease, "repair-lease", default: DurationArgument(config.repairLease)
        ).duration
        let rate = try OptionEnvironment.resolve(recoveryRate, "recovery-rate", default: ByteSizeArgument(argument: "0")!).bytes
        config.recoveryRate = rate > 0 ? rate : nil
        let rebalanceRate = try OptionEnvironment.resolve(
            rebalanceRate, "rebalance-rate", default: ByteSizeArgument(argument: "50MiB")!
        ).bytes
        config.rebalanceRate = rebalanceRate > 0 ? rebalanceRate : nil
        config.statusChangeProbes = try OptionEnvironment.resolve(
            statusChangeProbes, "status-change-probes", default: config.statusChangeProbes)
        config.orphanGrace = try OptionEnvironment.resolve(
            orphanGrace, "orphan-grace", default: DurationArgument(argument: "1h")!
        ).duration
        config.auditInterval = try OptionEnvironment.resolve(
            auditInterval, "audit-interval", default: DurationArgument(argument: "1h")!
        ).duration
        config.auditRate = try OptionEnvironment.resolve(auditRate, "audit-rate", default: ByteSizeArgument(argument: "20MiB")!)
            .bytes
        config.auditBatch = try OptionEnvironment.resolve(auditBatch, "audit-batch", default: config.auditBatch)
        config.rereplicateAfter = try OptionEnvironment.resolve(
            rereplicateAfter, "rereplicate-after", default: DurationArgument(argument: "5m")!
        ).duration
        config.maxUploadSize = try OptionEnvironment.resolve(
            maxUploadSize, "max-upload-size", default: ByteSizeArgument(argument: "10GiB")!
        ).bytes
        config.replayBuffer = try OptionEnvironment.resolve(
            replayBuffer, "replay-buffer", default: ByteSizeArgument(argument: "8MiB")!
        ).bytes
        config.replayBudget = try OptionEnvironment.resolve(
            replayBudget, "replay-budget", default: ByteSizeArgument(argument: "256MiB")!
        ).bytes
        let routingName = try OptionEnvironment.resolve(routing, "routing", default: "latency")
        guard let policy = RoutingPolicy(rawValue: routingName) else {
            throw ConfigurationError("--routing must be one of \(RoutingPolicy.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        config.routing = policy
        config.latencyHalfLife = try OptionEnvironment.resolve(
            latencyHalfLife, "latency-half-life", default: DurationArgument(config.latencyHalfLife)
        ).duration
        config.ejectAfter = try OptionEnvironment.resolve(ejectAfter, "eject-after", default: config.ejectAfter)
        config.stallTimeout = try OptionEnvironment.resolve(
            stallTimeout, "stall-timeout", default: DurationArgument(config.stallTimeout)
        ).duration
        let bounds = try OptionEnvironment.resolve(hedgeAfter, "hedge-after", default: HedgeDelayBounds(argument: "20ms,500ms")!)
        config.hedging.minimumDelay = bounds.minimum
        config.hedging.maximumDelay = bounds.maximum
        config.hedgeBudget = try OptionEnvironment.resolve(
            hedgeBudget, "hedge-budget", default: FractionArgument(argument: "5%")!
        ).fraction
        let hedgingOffByEnvironment =
            OptionEnvironment.value(for: "no-hedging").map { ["1", "true", "yes"].contains($0.lowercased()) } ?? false
        config.isHedgingEnabled = !(noHedging || hedgingOffByEnvironment)
        do {
            config.clusterSecret = try ClusterSecretOption.resolve(secret: clusterSecret, file: clusterSecretFile)
        } catch let error as ValidationError {
            throw ConfigurationError(error.message)
        }
        if let keysFile = apiKeysFile ?? OptionEnvironment.value(for: "api-keys-file") {
            guard let contents = try? String(contentsOfFile: keysFile, encoding: .utf8) else {
                throw ConfigurationError("--api-keys-file \(keysFile) cannot be read")
            }
            do {
                config.apiKeys = try APIKeyring(parsing: contents)
            } catch {
                throw ConfigurationError("--api-keys-file \(keysFile): \(error)")
            }
        }
        config.insecureOpen = InsecureOpenOption.resolve(insecureOpen)
        config.s3 = try s3Configuration()
        do {
            config.transportSecurity = try tls.resolve()
        } catch let error as ValidationError {
            throw ConfigurationError(error.message)
        }
        try config.validate()
        config.connectionLimits = try connectionLimits.resolve()
        return config
    }

    /// nil unless `--s3-port` (or DFS_S3_PORT) is given; then a credentials file is required.
    func s3Configuration() throws -> S3Configuration? {
        guard
            let port = try s3Port
                ?? OptionEnvironment.value(for: "s3-port").map({ text in
                    guard let port = Int(text) else { throw ConfigurationError("DFS_S3_PORT '\(text)' is not a port") }
                    return port
                })
        else { return nil }
        guard let file = s3CredentialsFile ?? OptionEnvironment.value(for: "s3-credentials-file") else {
            throw ConfigurationError("--s3-port needs --s3-credentials-file (dfs up writes dfs-data/s3-credentials)")
        }
        guard let contents = try? String(contentsOfFile: file, encoding: .utf8) else {
            throw ConfigurationError("--s3-credentials-file \(file) cannot be read")
        }
        let credentials: [S3Credential]
        do {
            credentials = try S3CredentialsFile.parse(contents)
        } catch {
            throw ConfigurationError("--s3-credentials-file \(file): \(error)")
        }
        guard !credentials.isEmpty else { throw ConfigurationError("--s3-credentials-file \(file) holds no key") }
        var s3 = S3Configuration(port: port, credentials: credentials)
        s3.region = s3Region ?? OptionEnvironment.value(for: "s3-region") ?? s3.region
        s3.domain = s3Domain ?? OptionEnvironment.value(for: "s3-domain")
        s3.multipartExpiry = try OptionEnvironment.resolve(
            multipartExpiry, "multipart-expiry", default: DurationArgument(s3.multipartExpiry)
        ).duration
        return s3
    }

    func run() async throws {
        let config: GatewayConfiguration
        do {
            config = try configuration()
        } catch let error as ConfigurationError {
            throw ValidationError(error.description)
        }
        LogSetup.bootstrap(level: try OptionEnvironment.resolve(logLevel, "log-level", default: .info))
        let logger = Logger(label: "dfs.gateway")
        let gateway = try await buildGateway(config, logger: logger)
        try await gateway.run()
    }
}

/// `--hedge-after MIN[,MAX]`: one duration fixes the delay, two bound the adaptive one.
struct HedgeDelayBounds: ExpressibleByArgument, Sendable {
    let minimum: Duration
    let maximum: Duration

    init?(argument: String) {
        let parts = argument.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        guard (1...2).contains(parts.count), let low = DurationArgument(argument: parts[0]),
            let high = DurationArgument(argument: parts.count == 2 ? parts[1] : parts[0])
        else { return nil }
        minimum = low.duration
        maximum = high.duration
    }
}

/// A share given as `5%` or `0.05`.
struct FractionArgument: ExpressibleByArgument, Sendable {
    let fraction: Double

    init?(argument: String) {
        let text = argument.trimmingCharacters(in: .whitespaces)
        let value = text.hasSuffix("%") ? Double(text.dropLast()).map { $0 / 100 } : Double(text)
        guard let value, value.isFinite, value >= 0 else { return nil }
        fraction = value
    }
}
