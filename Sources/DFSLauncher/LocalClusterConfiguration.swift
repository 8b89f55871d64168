import Foundation

/// Everything needed to run a gateway and its nodes on one machine: ports, folders, extra flags.
public struct LocalClusterConfiguration: Sendable {
    public var host: String
    public var gatewayPort: Int
    /// One port per node; node `n` (id `node-n`) uses `nodePorts[n - 1]`.
    public var nodePorts: [Int]
    /// Node `n` keeps its blobs in `<dataDirectory>/node-n`; the default metadata lives here too.
    public var dataDirectory: String
    /// `sqlite:PATH` or `mysql://…`; nil means `sqlite:<dataDirectory>/metadata.sqlite`.
    public var metadataURL: String?
    /// Appended to the gateway's command line (tuning flags such as `--recovery-interval 1s`).
    public var gatewayArguments: [String]
    /// Appended to every node's command line.
    public var nodeArguments: [String]
    /// Appended to node N's command line after `nodeArguments` (e.g. its own `--zone` or `--capacity`).
    public var perNodeArguments: [Int: [String]] = [:]
    /// Whether nodes get `--gateway URL` to register and heartbeat (the gateway also has them via `--node`).
    public var nodesRegisterWithGateway: Bool
    public var binaryDirectory: String
    /// nil: children write to this process's stdout/stderr; else each appends to `<logDirectory>/<member>.log`.
    public var logDirectory: String?
    /// Variables added to (or replacing) this process's environment for every child.
    public var extraEnvironment: [String: String]
    /// The URL through which others reach node N instead of its own port (e.g. a delay proxy in front of it);
    /// it becomes that node's `--advertise-url` and the gateway's `--node` entry.
    public var nodeURLOverrides: [Int: String] = [:]
    /// How long a member may take to answer `GET /health` after it is started.
    public var readinessTimeout: Duration
    /// How long a member may take to exit after SIGTERM before it gets SIGKILL.
    public var shutdownGracePeriod: Duration
    /// Where the secret gateway and nodes share lives; generated there at the first start when missing.
    public var clusterSecret: ClusterSecretLocation = .inDataDirectory
    /// The gateway's S3 listener (`--s3-port`, keys in `s3CredentialsFile`); nil leaves it off.
    public var s3Port: Int? = nil
    /// When set, every member serves HTTPS with its own certificate from here and verifies its peers against
    /// the folder's CA; made at the first start when missing.
    public var certificates: ClusterCertificates? = nil
    /// A member whose certificate is taken from elsewhere (e.g. one signed by another CA).
    public var certificateOverrides: [ClusterMember: ServerCertificateFilePair] = [:]

    public init(
        host: String = "127.0.0.1",
        gatewayPort: Int = 8080,
        nodePorts: [Int] = [8001, 8002, 8003],
        dataDirectory: String,
        metadataURL: String? = nil,
        gatewayArguments: [String] = [],
        nodeArguments: [String] = [],
        nodesRegisterWithGateway: Bool = true,
        binaryDirectory: String = ClusterBinaries.directory(),
        logDirectory: String? = nil,
        extraEnvironment: [String: String] = [:],
        readinessTimeout: Duration = .seconds(30),
        shutdownGracePeriod: Duration = .seconds(5)
    ) {
        self.host = host
        self.gatewayPort = gatewayPort
        self.nodePorts = nodePorts
        self.dataDirectory = Self.absolute(dataDirectory)
        self.metadataURL = metadataURL
        self.gatewayArguments = gatewayArguments
        self.nodeArguments = nodeArguments
        self.nodesRegisterWithGateway = nodesRegisterWithGateway
        self.binaryDirectory = binaryDirectory
        self.logDirectory = logDirectory.map(Self.absolute)
        self.extraEnvironment = extraEnvironment
        self.readinessTimeout = readinessTimeout
        self.shutdownGracePeriod = shutdownGracePeriod
    }

    /// Nodes numbered 1…N on consecutive ports starting at `firstNodePort` (what `dfs up` does).
    public static func consecutiveNodePorts(count: Int, from firstNodePort: Int) -> [Int] {
        (0..<count).map { firstNodePort + $0 }
    }

    public var gatewayURL: String { "\(scheme)://\(urlHost):\(gatewayPort)" }
    public var s3URL: String? { s3Port.map { "\(scheme)://\(urlHost):\($0)" } }
    /// `<dataDirectory>/s3-credentials`, made at the first start with one read-write key.
    public var s3CredentialsFile: String { (dataDirectory as NSString).appendingPathComponent("s3-credentials") }

    /// `https` when the cluster runs with certificates.
    public var scheme: String { certificates == nil ? "http" : "https" }

    /// Where `dfs up --tls` keeps the CA and the members' certificates.
    public var defaultCertificateDirectory: String { (dataDirectory as NSString).appendingPathComponent("tls") }

    public var effectiveMetadataURL: String {
        metadataURL ?? "sqlite:" + (dataDirectory as NSString).appendingPathComponent("metadata.sqlite")
    }

    public var nodes: [LocalClusterNode] {
        nodePorts.enumerated().map { index, port in
            let number = index + 1
            return LocalClusterNode(
                number: number,
                port: port,
                url: "\(scheme)://\(urlHost):\(port)",
                dataDirectory: (dataDirectory as NSString).appendingPathComponent(LocalClusterNode.id(number: number))
            )
        }
    }

    public var members: [ClusterMember] { [.gateway] + nodes.map { .node($0.number) } }

    /// The file of the cluster secret (mode 0600), or nil when the cluster runs without one.
    public var clusterSecretFile: String? {
        switch clusterSecret {
        case .inDataDirectory: return (dataDirectory as NSString).appendingPathComponent("cluster-secret")
        case .file(let path): return Self.absolute(path)
        case .none: return nil
        }
    }

    /// The port `member` listens on.
    public func port(of member: ClusterMember) -> Int {
        switch member {
        case .gateway: return gatewayPort
        case .node(let number): return nodePorts[number - 1]
        }
    }

    public func url(of member: ClusterMember) -> String {
        "\(scheme)://\(urlHost):\(port(of: member))"
    }

    /// `--tls-cert`, `--tls-key` and `--tls-ca` for `member`, or nothing for a plain-HTTP cluster.
    public func tlsArguments(for member: ClusterMember) -> [String] {
        guard let certificates else { return [] }
        let pair =
            certificateOverrides[member]
            ?? ServerCertificateFilePair(
                certificate: certificates.certificateFile(of: member), key: certificates.keyFile(of: member))
        return [
            "--tls-cert", pair.certificate, "--tls-key", pair.key, "--tls-ca", certificates.certificateAuthorityFile,
        ]
    }

    public func logFile(of member: ClusterMember) -> String? {
        logDirectory.map { ($0 as NSString).appendingPathComponent("\(member).log") }
    }

    /// The full command line (without the executable) that starts `member`.
    public func arguments(for member: ClusterMember) -> [String] {
        switch member {
        case .gateway:
            var arguments = ["--host", host, "--port", String(gatewayPort), "--metadata", effectiveMetadataURL]
            for node in nodes { arguments += ["--node", "\(node.id)=\(nodeURLOverrides[node.number] ?? node.url)"] }
            if let clusterSecretFile { arguments += ["--cluster-secret-file", clusterSecretFile] }
            if let s3Port { arguments += ["--s3-port", String(s3Port), "--s3-credentials-file", s3CredentialsFile] }
            return arguments + tlsArguments(for: member) + gatewayArguments
        case .node(let number):
            let node = nodes[number - 1]
            var arguments = [
                "--id", node.id, "--host", host, "--port", String(node.port),
                "--data", node.dataDirectory, "--advertise-url", nodeURLOverrides[number] ?? node.url,
            ]
            if nodesRegisterWithGateway { arguments += ["--gateway", gatewayURL] }
            if let clusterSecretFile { arguments += ["--cluster-secret-file", clusterSecretFile] }
            return arguments + tlsArguments(for: member) + nodeArguments + (perNodeArguments[number] ?? [])
        }
    }

    /// A wildcard listen address is reached through loopback.
    private var urlHost: String {
        host == "0.0.0.0" ? "127.0.0.1" : host
    }

    private static func absolute(_ path: String) -> String {
        let expanded = (path as NSString).expandingTildeInPath
        if expanded.hasPrefix("/") { return (expanded as NSString).standardizingPath }
        let base = FileManager.default.currentDirectoryPath
        return ((base as NSString).appendingPathComponent(expanded) as NSString).standardizingPath
    }
}

/// Where a local cluster keeps its cluster secret.
public enum ClusterSecretLocation: Sendable, Equatable {
    /// `<dataDirectory>/cluster-secret`: what `dfs up` does.
    case inDataDirectory
    /// A file of its own, e.g. another cluster's, so a second gateway can join that cluster's nodes.
    case file(String)
    /// No secret: nodes and internal routes stay open (tests of open clusters only).
    case none
}

/// A certificate file and its key file.
public struct ServerCertificateFilePair: Sendable, Equatable {
    public var certificate: String
    public var key: String

    public init(certificate: String, key: String) {
        self.certificate = certificate
        self.key = key
    }
}
