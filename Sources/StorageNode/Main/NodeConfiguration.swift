import DFSServer
import DFSCore
import Logging

/// Everything a node needs to run, typed and validated; code below `Main/` sees only this.
struct NodeConfiguration: Sendable {
    var nodeID: NodeID
    var host: String
    /// 0 picks a free port (tests); the command requires a real one.
    var port: Int
    /// Absolute path of the data directory.
    var dataDirectory: String
    /// The base URL the gateway and other nodes use to reach this node.
    var advertiseURL: String
    /// When set, the node registers itself there and keeps doing so as a heartbeat.
    var gatewayURL: String?
    var role: NodeRole?
    /// The most this node's blobs may take, and its weight in placement; nil: its file system's size.
    var capacityBytes: Int64? = nil
    /// Its failure domain; placement keeps a file's copies in separate zones while there are enough of them. Nil:
    /// a zone of its own, named by its id.
    var zone: String? = nil
    /// How long a replication target may make no progress before the primary gives up on it.
    var replicationTimeout: Duration
    var heartbeatInterval: Duration
    /// Deadline of one registration call.
    var registrationTimeout: Duration = .seconds(2)
    /// Threads for blocking disk calls; more than the core count because fsync blocks a thread for long.
    var ioThreadCount: Int = 8
    var logLevel: Logger.Level
    /// Required on every request (and sent on every call to other nodes and the gateway); nil leaves the node
    /// open, which the command allows only on a loopback address or with `--insecure-open`.
    var clusterSecret: ClusterSecret? = nil
    /// How long slow or idle clients may hold a connection, and how many may be open.
    var connectionLimits = ConnectionLimits.defaults
    /// HTTPS on the listener, and the CA that other nodes and the gateway must be signed by.
    var transportSecurity = TransportSecurity()

    /// The effective settings, logged once at start.
    var logMetadata: Logger.Metadata {
        [
            "node_id": "\(nodeID)",
            "listen": "\(host):\(port)",
            "data": "\(dataDirectory)",
            "advertise_url": "\(advertiseURL)",
            "gateway": "\(gatewayURL ?? "none")",
            "role": "\(role?.rawValue ?? "unset")",
            "capacity": "\(capacityBytes.map { "\($0) bytes" } ?? "the file system's size")",
            "zone": "\(zone ?? nodeID.rawValue)",
            "replication_timeout": "\(replicationTimeout)",
            "heartbeat_interval": "\(heartbeatInterval)",
            "io_threads": "\(ioThreadCount)",
            "log_level": "\(logLevel)",
            // Whether a secret is set, never the secret.
            "cluster_secret": "\(clusterSecret == nil ? "none" : "set")",
            "tls": "\(transportSecurity.logDescription)",
        ]
    }
}
