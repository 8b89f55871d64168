import DFSCore
import DFSMetadata
import DFSServer
import Foundation
import S3Protocol

/// Where the metadata lives (`--metadata`).
enum MetadataLocation: Sendable, Equatable, CustomStringConvertible {
    case sqlite(path: String)
    case mysql(url: String)

    init(parsing text: String) throws {
        if text.hasPrefix("sqlite:") {
            let path = String(text.dropFirst("sqlite:".count))
            guard !path.isEmpty else {
                throw ConfigurationError("--metadata sqlite: needs a path, e.g. sqlite:./dfs-data/metadata.sqlite")
            }
            self = .sqlite(path: path)
        } else if text.hasPrefix("mysql://") {
            do {
                _ = try MySQLConnectionOptions(url: text)
            } catch {
                throw ConfigurationError("--metadata \(MetadataLocation.mysql(url: text)) is not usable: \(error)")
            }
            self = .mysql(url: text)
        } else {
            throw ConfigurationError("--metadata must be sqlite:PATH or mysql://USER:PASS@HOST:PORT/DB, got '\(text)'")
        }
    }

    /// Printable without secrets.
    var description: String {
        switch self {
        case .sqlite(let path): return "sqlite:\(path)"
        case .mysql(let url):
            guard let at = url.lastIndex(of: "@"),
                let colon = url[url.index(url.startIndex, offsetBy: 8)..<at].firstIndex(of: ":")
            else { return url }
            return String(url[..<url.index(after: colon)]) + "***" + String(url[at...])
        }
    }
}

struct ConfigurationError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Everything the gateway needs to run, typed and checked; below `Main/` code sees only this.
struct GatewayConfiguration: Sendable {
    var host: String = "127.0.0.1"
    var port: Int = 8080
    var metadata: MetadataLocation = .sqlite(path: "./dfs-data/metadata.sqlite")
    /// Replaces the password of a `mysql://` URL (from `DFS_MYSQL_PASSWORD` or `--metadata-password-file`); never logged.
    var metadataPassword: String?
    /// Connections one gateway opens to MySQL at most.
    var metadataConnections: Int = 8
    /// Nodes named on the command line, in order (the first is MAIN).
    var nodes: [NodeEndpoint] = []
    var replicas: Int = 3
    var writeQuorum: Int = 1
    /// New copies stop on a node whose used share of its capacity reaches this.
    var fullThreshold = 0.95
    var recoveryInterval: Duration = .seconds(30)
    var probeInterval: Duration = .seconds(5)
    /// How often nodes left out of routing are probed; zero turns it off.
    var returnProbeInterval: Duration = .seconds(1)
    var healthTimeout: Duration = .seconds(2)
    var nodeTimeout: Duration = .seconds(30)
    var maxRetries: Int = 5
    var maxUploadSize: Int64 = 10 << 30
    /// Upload bodies up to this size are kept in memory while they stream, to be sent again if the primary stalls.
    var replayBuffer: Int64 = 8 << 20
    /// Memory shared by all uploads' replay buffers.
    var replayBudget: Int64 = 256 << 20
    var latencyHalfLife: Duration = .seconds(5)
    var routing: RoutingPolicy = .latency
    /// Consecutive failed requests that take a node out of selection until a probe succeeds.
    var ejectAfter: Int = 2
    /// Mid-stream: no byte for this long abandons the source for another replica.
    var stallTimeout: Duration = .seconds(2)
    /// When a late first byte makes a download ask a second replica (bounds of the adaptive delay).
    var hedging = HedgePolicy()
    var isHedgingEnabled = true
    /// Share of downloads that may be hedged.
    var hedgeBudget: Double = 0.05
    var recoveryConcurrency: Int = 4
    var repairLease: Duration = .seconds(60)
    /// Bytes per second all repair streams share; nil = unlimited.
    var recoveryRate: Int64? = nil
    /// Bytes per second of the copies drains and rebalancing make; nil = no cap.
    var rebalanceRate: Int64? = 50 << 20
    /// First wait after a failed repair attempt; doubles with each further failure.
    var retryBackoff: Duration = .seconds(2)
    /// Consecutive agreeing probes needed to change a node's UP/DOWN status (hysteresis).
    var statusChangeProbes: Int = 2
    /// Blobs no file owns are removed only once older than this: an upload may be about to record them.
    var orphanGrace: Duration = .seconds(3600)
    /// How long a node may stay DOWN before its copies are re-made on other nodes.
    var rereplicateAfter: Duration = .seconds(300)
    /// Time between audit passes; zero turns the periodic audit off (`POST /audit` still runs one).
    var auditInterval: Duration = .seconds(3600)
    /// Bytes per second an audit may re-read, over all nodes.
    var auditRate: Int64 = 20 << 20
    /// Replicas re-hashed per node per pass, stalest first.
    var auditBatch: Int = 1000
    /// How far back `GET /status/history` reaches, at one sample a second.
    var historyWindow: Duration = .seconds(300)
    /// Sent to every node and required on `/internal/*`; nil leaves both open.
    var clusterSecret: ClusterSecret? = nil
    /// Client API keys (`--api-keys-file`); nil leaves the API open.
    var apiKeys: APIKeyring? = nil
    /// How long slow or idle clients may hold a connection, and how many may be open.
    var connectionLimits = ConnectionLimits.defaults
    /// Allows a non-loopback `host` without API keys and cluster secret.
    var insecureOpen: Bool = false
    /// HTTPS on the listener, and the CA that nodes must be signed by.
    var transportSecurity = TransportSecurity()
    /// The S3-compatible listener (SPEC §11); nil leaves it off.
    var s3: S3Configuration? = nil

    func validate() throws {
        guard (1...65535).contains(port) || port == 0 else { throw ConfigurationError("--port must be 1-65535") }
        if let s3 {
            guard (1...65535).contains(s3.port) || s3.port == 0 else { throw ConfigurationError("--s3-port must be 1-65535") }
            guard s3.port != port || port == 0 else { throw ConfigurationError("--s3-port must differ from --port") }
        }
        guard replicas >= 1 else { throw ConfigurationError("--replicas must be at least 1") }
        guard writeQuorum >= 1, writeQuorum <= replicas else {
            throw ConfigurationError("--write-quorum must be between 1 and --replicas (\(replicas))")
        }
        guard fullThreshold > 0, fullThreshold <= 1 else {
            throw ConfigurationError("--full-threshold must be above 0 % and at most 100 %")
        }
        guard maxRetries >= 1 else { throw ConfigurationError("--max-retries must be at least 1") }
        guard repairLease >= .seconds(1) else { throw ConfigurationError("--repair-lease must be at least 1s") }
        guard recoveryConcurrency >= 1 else { throw ConfigurationError("--recovery-concurrency must be at least 1") }
        guard recoveryRate.map({ $0 > 0 }) ?? true else {
            throw ConfigurationError("--recovery-rate must be positive (omit it for no cap)")
        }
        guard statusChangeProbes >= 1 else { throw ConfigurationError("--status-change-probes must be at least 1") }
        guard auditRate > 0, auditBatch >= 1 else { throw ConfigurationError("--audit-rate and --audit-batch must be positive") }
        guard retryBackoff > .zero else { throw ConfigurationError("--retry-backoff must be positive") }
        guard maxUploadSize > 0 else { throw ConfigurationError("--max-upload-size must be positive") }
        guard replayBuffer >= 0, replayBudget >= 0 else {
            throw ConfigurationError("--replay-buffer and --replay-budget must not be negative")
        }
        guard healthTimeout > .zero, nodeTimeout > .zero else { throw ConfigurationError("timeouts must be positive") }
        guard ejectAfter >= 1 else { throw ConfigurationError("--eject-after must be at least 1") }
        guard stallTimeout > .zero else { throw ConfigurationError("--stall-timeout must be positive") }
        guard hedging.minimumDelay > .zero, hedging.minimumDelay <= hedging.maximumDelay else {
            throw ConfigurationError("--hedge-after needs 0 < MIN <= MAX, e.g. 20ms,500ms")
        }
        guard (0...1).contains(hedgeBudget) else { throw ConfigurationError("--hedge-budget must be between 0% and 100%") }
        guard metadataConnections >= 1 else { throw ConfigurationError("--metadata-connections must be at least 1") }
        guard Set(nodes.map(\.id)).count == nodes.count else { throw ConfigurationError("--node ids must be unique") }
        try validateExposure()
    }

    /// Checked before anything binds: on an address others can reach, an open gateway lets anyone delete every file
    /// and register a node of their own.
    func validateExposure() throws {
        guard !ListenAddress.isLoopback(host) else { return }
        if !insecureOpen { try validateAuthentication() }
        do {
            try transportSecurity.checkExposure(host: host)
        } catch {
            throw ConfigurationError(error.message)
        }
    }

    private func validateAuthentication() throws {
        var missing: [String] = []
        if apiKeys == nil { missing.append("API keys (--api-keys-file FILE)") }
        if clusterSecret == nil { missing.append("a cluster secret (--cluster-secret-file FILE)") }
        guard missing.isEmpty else {
            throw ConfigurationError(
                "refusing to listen on \(host) without \(missing.joined(separator: " and ")): anyone who can reach it could read and delete every file. "
                    + "Configure them, listen on 127.0.0.1, or pass --insecure-open to run an open gateway deliberately.")
        }
    }
}

extension GatewayConfiguration {
    /// "95%", "95 %" or "0.95" as 0.95; nil for anything else.
    static func parseShare(_ text: String) -> Double? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.hasSuffix("%") {
            return Double(trimmed.dropLast().trimmingCharacters(in: .whitespaces)).map { $0 / 100 }
        }
        return Double(trimmed)
    }
}

/// The S3 listener's settings (`--s3-*`).
struct S3Configuration: Sendable {
    var port: Int
    var credentials: [S3Credential]
    var region: String = "us-east-1"
    /// Virtual-host style addressing under this domain (`bucket.<domain>`); path style always works.
    var domain: String? = nil
    /// Multipart uploads not completed within this long are aborted and their parts deleted.
    var multipartExpiry: Duration = .seconds(7 * 24 * 3600)
}
