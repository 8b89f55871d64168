import Foundation

/// Where and how to reach MySQL/MariaDB: parsed from `mysql://USER:PASS@HOST:PORT/DB`.
public struct MySQLConnectionOptions: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var user: String
    public var password: String
    public var database: String
    /// Connections the pool opens at most; each runs on its own thread of the store's thread pool.
    public var maximumConnections: Int = 4
    /// Applied to connecting, and to each read and write on the socket (MYSQL_OPT_*_TIMEOUT, whole seconds).
    public var connectTimeout: Duration = .seconds(3)
    public var readTimeout: Duration = .seconds(10)
    public var writeTimeout: Duration = .seconds(10)

    public init(host: String, port: Int = 3306, user: String, password: String, database: String) {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.database = database
    }

    /// Parses `mysql://USER[:PASS]@HOST[:PORT]/DB`; user, password and database may be percent-encoded.
    /// - Throws: `MetadataError.unavailable` naming the part that is wrong (never echoing the password).
    public init(url: String) throws {
        guard url.hasPrefix("mysql://") else { throw MetadataError.unavailable("a MySQL URL starts with mysql://") }
        let rest = url.dropFirst("mysql://".count)
        guard let at = rest.lastIndex(of: "@") else { throw MetadataError.unavailable("the MySQL URL needs USER@HOST") }
        let credentials = rest[..<at]
        let location = rest[rest.index(after: at)...]
        let user: Substring
        var password: Substring = ""
        if let colon = credentials.firstIndex(of: ":") {
            user = credentials[..<colon]
            password = credentials[credentials.index(after: colon)...]
        } else {
            user = credentials
        }
        guard let slash = location.firstIndex(of: "/") else {
            throw MetadataError.unavailable("the MySQL URL needs /DATABASE after the host")
        }
        let hostPort = location[..<slash]
        let database = location[location.index(after: slash)...].split(separator: "?", maxSplits: 1).first ?? ""
        var host = hostPort
        var port = 3306
        if let colon = hostPort.lastIndex(of: ":"), !hostPort.hasSuffix("]") {
            host = hostPort[..<colon]
            guard let parsed = Int(hostPort[hostPort.index(after: colon)...]), (1...65535).contains(parsed) else {
                throw MetadataError.unavailable("the MySQL URL's port is not a number between 1 and 65535")
            }
            port = parsed
        }
        func decoded(_ part: Substring) -> String { String(part).removingPercentEncoding ?? String(part) }
        guard !user.isEmpty, !host.isEmpty, !database.isEmpty else {
            throw MetadataError.unavailable("the MySQL URL must name a user, a host and a database")
        }
        self.init(host: String(host), port: port, user: decoded(user), password: decoded(password), database: decoded(database))
    }

    /// Printable without the password.
    public var description: String { "mysql://\(user):***@\(host):\(port)/\(database)" }

    static func seconds(_ duration: Duration) -> UInt32 { UInt32(max(1, duration.components.seconds)) }
}
