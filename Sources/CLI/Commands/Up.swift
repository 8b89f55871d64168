import DFSOptions
import ArgumentParser
import DFSLauncher
import Foundation

struct Up: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "up",
        abstract: "Run a gateway and its storage nodes on this machine until Ctrl-C.",
        discussion: """
            Starts the nodes (node-1 MAIN, node-2 REPLICA, node-3 BACKUP, …) on --node-port and the ports after \
            it, waits until each answers /health, then starts the gateway on --port with SQLite metadata in \
            --data. Ctrl-C or SIGTERM stops them all (SIGKILL for any still running after 5 s). If dfs itself \
            is killed, its children notice within a second and exit on their own.

            While it runs, `dfs cluster status|stop|kill|start|pause|resume MEMBER` acts on one member through \
            DATA/control.sock (mode 0600). A member that dies on its own, the gateway included, is reported \
            and left down unless --restart on-failure; the rest keep running.

            The binaries dfs-gateway and dfs-node are taken from the folder of dfs, or from DFS_BIN_DIR.
            Each option also reads DFS_<NAME>, e.g. DFS_NODE_PORT.
            """
    )

    @Option(help: "How many storage nodes to run (env: DFS_NODES).")
    var nodes: Int?

    @Option(help: "The gateway's port; default 8080 (env: DFS_PORT).")
    var port: Int?

    @Option(help: "The first node's port; default 8001, the other nodes take the ports after it (env: DFS_NODE_PORT).")
    var nodePort: Int?

    @Option(
        help:
            "The gateway's S3-compatible API port; default 9000, 0 turns it off. Its key is made once in DATA/s3-credentials (env: DFS_S3_PORT)."
    )
    var s3Port: Int?

    @Option(help: "The address everything listens on; default 127.0.0.1 (env: DFS_HOST).")
    var host: String?

    @Option(
        help: "Folder for node data (DIR/node-1, …) and the SQLite metadata; default ./dfs-data (env: DFS_DATA).",
        completion: .directory)
    var data: String?

    @Option(
        help:
            "Metadata URL for the gateway, sqlite:PATH or mysql://USER:PASS@HOST:PORT/DB; default sqlite:DIR/metadata.sqlite (env: DFS_METADATA)."
    )
    var metadata: String?

    @Option(
        help: "Write each process's log to DIR/gateway.log, DIR/node-1.log, … instead of this terminal (env: DFS_LOG_DIR).",
        completion: .directory)
    var logDir: String?

    @Option(help: "How long each process may take to answer /health; default 30s (env: DFS_STARTUP_TIMEOUT).")
    var startupTimeout: DurationArgument?

    @Option(
        help:
            "What to do when a member dies without being asked to: no (report it, leave it down) or on-failure (start it again after 1s, 2s, 4s… up to 30s); default no (env: DFS_RESTART)."
    )
    var restart: String?
    @Flag(
        help:
            "Serve HTTPS everywhere: make a private CA and a certificate per process under DIR/tls (kept for the next start), and verify every internal call against it (env: DFS_TLS=1)."
    )
    var tls = false

    @OptionGroup(title: "Gateway and node settings (passed through)")
    var tuning: ClusterTuningOptions

    func validate() throws {
        let settings = try resolve()
        guard settings.nodeCount >= 1, settings.nodeCount <= 64 else { throw ValidationError("--nodes must be between 1 and 64") }
        let nodePorts = settings.firstNodePort...(settings.firstNodePort + settings.nodeCount - 1)
        for port in [settings.gatewayPort, nodePorts.lowerBound, nodePorts.upperBound] where !(1...65535).contains(port) {
            throw ValidationError("port \(port) is outside 1–65535; check --port and --node-port")
        }
        if let s3Port = settings.s3Port {
            guard (1...65535).contains(s3Port) else {
                throw ValidationError("--s3-port \(s3Port) is outside 1–65535 (0 turns it off)")
            }
            if s3Port == settings.gatewayPort || nodePorts.contains(s3Port) {
                throw ValidationError("--s3-port \(s3Port) collides with the gateway's or a node's port")
            }
        }
        if nodePorts.contains(settings.gatewayPort) {
            throw ValidationError(
                "the gateway's port \(settings.gatewayPort) collides with the node ports \(nodePorts.lowerBound)–\(nodePorts.upperBound); change --port or --node-port"
            )
        }
    }

    func run() async throws {
        let settings = try resolve()
        var configuration = LocalClusterConfiguration(
            host: settings.host,
            gatewayPort: settings.gatewayPort,
            nodePorts: LocalClusterConfiguration.consecutiveNodePorts(count: settings.nodeCount, from: settings.firstNodePort),
            dataDirectory: settings.dataDirectory,
            metadataURL: settings.metadataURL,
            gatewayArguments: tuning.gatewayArguments(nodeCount: settings.nodeCount),
            nodeArguments: tuning.nodeArguments,
            logDirectory: settings.logDirectory,
            readinessTimeout: settings.startupTimeout
        )
        configuration.s3Port = settings.s3Port
        if settings.usesTLS {
            configuration.certificates = ClusterCertificates(directory: configuration.defaultCertificateDirectory)
        }
        let exitCode = await ClusterSupervisor(configuration: configuration, restartPolicy: settings.restartPolicy).run()
        if exitCode != 0 { throw ExitCode(exitCode) }
    }

    private struct Settings {
        var nodeCount: Int
        var gatewayPort: Int
        /// nil: the S3 listener is off.
        var s3Port: Int?
        var firstNodePort: Int
        var host: String
        var dataDirectory: String
        var metadataURL: String?
        var logDirectory: String?
        var startupTimeout: Duration
        var restartPolicy: RestartPolicy
        var usesTLS: Bool
    }

    /// Flags, else `DFS_<NAME>`, else the documented defaults.
    private func resolve() throws -> Settings {
        Settings(
            nodeCount: try OptionEnvironment.resolve(nodes, "nodes", default: 3),
            gatewayPort: try OptionEnvironment.resolve(port, "port", default: 8080),
            s3Port: try OptionEnvironment.resolve(s3Port, "s3-port", default: 9000).nonZero,
            firstNodePort: try OptionEnvironment.resolve(nodePort, "node-port", default: 8001),
            host: try OptionEnvironment.resolve(host, "host", default: "127.0.0.1"),
            dataDirectory: try OptionEnvironment.resolve(data, "data", default: "./dfs-data"),
            metadataURL: metadata ?? OptionEnvironment.value(for: "metadata"),
            logDirectory: logDir ?? OptionEnvironment.value(for: "log-dir"),
            startupTimeout: try OptionEnvironment.resolve(
                startupTimeout, "startup-timeout", default: DurationArgument(.seconds(30))
            ).duration,
            restartPolicy: try resolveRestartPolicy(),
            usesTLS: tls || ["1", "true", "yes"].contains(OptionEnvironment.value(for: "tls")?.lowercased() ?? "")
        )
    }

    private func resolveRestartPolicy() throws -> RestartPolicy {
        let text = restart ?? OptionEnvironment.value(for: "restart") ?? RestartPolicy.no.rawValue
        guard let policy = RestartPolicy(rawValue: text) else {
            let choices = RestartPolicy.allCases.map(\.rawValue).joined(separator: " or ")
            throw ValidationError("--restart must be \(choices), not '\(text)'")
        }
        return policy
    }
}

extension Int {
    fileprivate var nonZero: Int? { self == 0 ? nil : self }
}
