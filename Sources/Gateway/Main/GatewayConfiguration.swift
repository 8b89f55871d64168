import DFSCore
import DFSMetadata
import Foundation

/// Where the metadata lives (`--metadata`).
enum MetadataLocation: Sendable, Equatable, CustomStringConvertible {
    case sqlite(path: String)
    case mysql(url: String)

    init(parsing text: String) throws {
        if text.hasPrefix("sqlite:") {
            let path = String(text.dropFirst("sqlite:".count))
            guard !path.isEmpty else { throw ConfigurationError("--metadata sqlite: needs a path, e.g. sqlite:./dfs-data/metadata.sqlite") }
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
            guard let at = url.lastIndex(of: "@"), let colon = url[url.index(url.startIndex, offsetBy: 8)..<at].firstIndex(of: ":") else { return url }
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
    var recoveryInterval: Duration = .seconds(30)
    var probeInterval: Duration = .seconds(5)
    var healthTimeout: Duration = .seconds(2)
    var nodeTimeout: Duration = .seconds(30)
    var maxRetries: Int = 5
    var maxUploadSize: Int64 = 10 << 30
    var latencyHalfLife: Duration = .seconds(5)
    var recoveryConcurrency: Int = 4

    func validate() throws {
        guard (1...65535).contains(port) || port == 0 else { throw ConfigurationError("--port must be 1-65535") }
        guard replicas >= 1 else { throw ConfigurationError("--replicas must be at least 1") }
        guard writeQuorum >= 1, writeQuorum <= replicas else { throw ConfigurationError("--write-quorum must be between 1 and --replicas (\(replicas))") }
        guard maxRetries >= 1 else { throw ConfigurationError("--max-retries must be at least 1") }
        guard maxUploadSize > 0 else { throw ConfigurationError("--max-upload-size must be positive") }
        guard healthTimeout > .zero, nodeTimeout > .zero else { throw ConfigurationError("timeouts must be positive") }
        guard metadataConnections >= 1 else { throw ConfigurationError("--metadata-connections must be at least 1") }
        guard Set(nodes.map(\.id)).count == nodes.count else { throw ConfigurationError("--node ids must be unique") }
    }
}
