import DFSCore
@testable import DFSMetadata
import Foundation
import Logging
import Testing

/// The backends the conformance suite runs on: SQLite in a temp file, MySQL/MariaDB at `DFS_TEST_MYSQL_URL`
/// (`scripts/mariadb-test-server.sh start` prints it), each test case in a throw-away database of its own;
/// `cachedSQLite` is SQLite behind the gateway's `CachingMetadataStore`, which must behave identically.
enum TestBackend: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case sqlite
    case cachedSQLite
    case mysql

    static var all: [TestBackend] { allCases }
    var testDescription: String { rawValue }

    /// Runs `body` against a fresh, empty store of this backend and closes it afterwards.
    func withFreshStore(_ body: (any MetadataStore) async throws -> Void) async throws {
        try await withFreshStores(count: 1) { stores in try await body(stores[0]) }
    }

    /// Runs `body` with `count` independent stores (separate connections, as separate gateways would have)
    /// on one fresh, empty database.
    func withFreshStores(count: Int, _ body: ([any MetadataStore]) async throws -> Void) async throws {
        switch self {
        case .sqlite, .cachedSQLite:
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dfs-meta-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: directory) }
            let path = directory.appendingPathComponent("metadata.sqlite").path
            var stores: [any MetadataStore] = []
            for _ in 0..<count { stores.append(try await SQLiteMetadataStore.open(path: path, logger: Logger(label: "test"))) }
            // The cache is only for a database's sole writer: stores standing for several gateways stay uncached.
            if self == .cachedSQLite && count == 1 { stores = stores.map { CachingMetadataStore($0) } }
            try await Self.run(body, closing: stores)
        case .mysql:
            try await MySQLTestDatabase.withFresh { options in
                var stores: [any MetadataStore] = []
                for _ in 0..<count { stores.append(try await MySQLMetadataStore.open(options, logger: Logger(label: "test"))) }
                try await Self.run(body, closing: stores)
            }
        }
    }

    private static func run(_ body: ([any MetadataStore]) async throws -> Void, closing stores: [any MetadataStore]) async throws
    {
        do {
            try await body(stores)
        } catch {
            for store in stores { try? await store.close() }
            throw error
        }
        for store in stores { try await store.close() }
    }
}

/// Throw-away databases on the test MariaDB.
enum MySQLTestDatabase {
    /// The server's options from `DFS_TEST_MYSQL_URL`. Unset: a failure in CI (`CI=true`), a cancelled
    /// (skipped, never passed) test locally.
    static func serverOptions() throws -> MySQLConnectionOptions {
        let environment = ProcessInfo.processInfo.environment
        guard let url = environment["DFS_TEST_MYSQL_URL"], !url.isEmpty else {
            if environment["CI"] == "true" {
                throw MetadataError.unavailable(
                    "DFS_TEST_MYSQL_URL is unset in CI: start MariaDB with scripts/mariadb-test-server.sh")
            }
            try Test.cancel("DFS_TEST_MYSQL_URL unset")
        }
        return try MySQLConnectionOptions(url: url)
    }

    /// Creates `dfs_t_<random>`, runs `body` with options pointing at it, and drops it afterwards.
    static func withFresh(_ body: (MySQLConnectionOptions) async throws -> Void) async throws {
        var options = try serverOptions()
        // A generated name of hex digits: safe to put in the DDL text (identifiers cannot be bound).
        options.database = "dfs_t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased()
        try admin(options, "CREATE DATABASE `\(options.database)` CHARACTER SET utf8mb4")
        do {
            try await body(options)
        } catch {
            try? admin(options, "DROP DATABASE `\(options.database)`")
            throw error
        }
        try admin(options, "DROP DATABASE `\(options.database)`")
    }

    /// Runs one statement on a short-lived connection to the server's own database.
    static func admin(_ options: MySQLConnectionOptions, _ sql: String) throws {
        let base = try serverOptions()
        let connection = try MySQLConnection.connect(options, database: base.database)
        defer { connection.close() }
        try connection.execute(sql)
    }
}

func key(_ raw: String) -> FileKey { try! FileKey(validating: raw) }
func node(_ raw: String) -> NodeID { try! NodeID(validating: raw) }
let sampleDigest = SHA256Digest(hex: String(repeating: "ab", count: 32))!

func sampleFile(_ raw: String, at seconds: Double = 1_800_000_000, name: String = "a.txt") -> FileRecord {
    FileRecord(
        key: key(raw), originalFilename: name, sizeBytes: 42, checksum: sampleDigest,
        uploadedAt: Date(timeIntervalSince1970: seconds))
}
