import DFSCore
import Foundation
import Logging
import SQLiteNIO

/// `MetadataStore` on an embedded SQLite file: one connection, operations serialised, WAL journal,
/// `synchronous=FULL` so an acknowledged upload survives a crash of the process or the machine. A second,
/// read-only connection serves the whole-store counts (`replicationSummary`), which read every file: in WAL mode a
/// reader never blocks the writer, so those seconds at a million files no longer hold every request back.
public final class SQLiteMetadataStore: MetadataStore {
    let connection: SQLiteConnection
    /// Read-only, unserialised: for whole-store reads that may take seconds and need only a consistent snapshot.
    let snapshotConnection: SQLiteConnection
    let lock = AsyncSerialLock()
    /// One read transaction at a time on `snapshotConnection`.
    let snapshotLock = AsyncSerialLock()
    let logger: Logger
    /// Uploads recorded while a commit is on disk wait for the next one (see `GroupCommit`).
    let uploadCommits = GroupCommit<UploadRecord>()
    /// S3 objects recorded while a commit is on disk wait for the next one, like uploads.
    let objectCommits = GroupCommit<ObjectRecording>()

    private init(connection: SQLiteConnection, snapshotConnection: SQLiteConnection, logger: Logger) {
        self.connection = connection
        self.snapshotConnection = snapshotConnection
        self.logger = logger
    }

    /// Opens (creating if needed) the database at `path` and applies pending migrations.
    public static func open(path: String, logger: Logger) async throws -> SQLiteMetadataStore {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        let connection: SQLiteConnection
        do {
            connection = try await SQLiteConnection.open(storage: .file(path: path), logger: logger)
        } catch {
            throw MetadataError.unavailable("cannot open SQLite database at \(path): \(error)")
        }
        try await connection.install(customFunction: containsFolded)
        for pragma in [
            "PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL", "PRAGMA foreign_keys=ON", "PRAGMA busy_timeout=5000",
        ] {
            _ = try await connection.query(pragma, [])
        }
        let snapshotConnection: SQLiteConnection
        do {
            snapshotConnection = try await SQLiteConnection.open(storage: .file(path: path), logger: logger)
            for pragma in ["PRAGMA query_only=ON", "PRAGMA busy_timeout=5000"] {
                _ = try await snapshotConnection.query(pragma, [])
            }
        } catch {
            try? await connection.close()
            throw MetadataError.unavailable("cannot open SQLite database at \(path) for reading: \(error)")
        }
        let store = SQLiteMetadataStore(connection: connection, snapshotConnection: snapshotConnection, logger: logger)
        try await store.migrate()
        return store
    }

    /// `dfs_contains_folded(name, folded_text)`: whether the name contains the text, case ignored, by the rule of
    /// `FileNameSearch` (SQLite's lower() folds ASCII only).
    private static var containsFolded: SQLiteCustomFunction {
        SQLiteCustomFunction("dfs_contains_folded", argumentCount: 2, pure: true) { arguments in
            guard let name = arguments[0].string, let folded = arguments[1].string else { return 0 }
            return FileNameSearch.contains(folded, in: name) ? 1 : 0
        }
    }

    public func close() async throws {
        try? await snapshotConnection.close()
        try await connection.close()
    }

    // MARK: - plumbing

    @discardableResult
    func run(_ sql: String, _ binds: [SQLiteData] = []) async throws -> [SQLiteRow] {
        try await connection.query(sql, binds)
    }

    /// Runs `body` as one serialised unit; with `transaction`, inside BEGIN IMMEDIATE … COMMIT.
    @discardableResult
    func serialized<T: Sendable>(transaction: Bool = false, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await lock.withLock {
            guard transaction else { return try await body() }
            try await self.run("BEGIN IMMEDIATE")
            do {
                let result = try await body()
                try await self.run("COMMIT")
                return result
            } catch {
                _ = try? await self.run("ROLLBACK")
                throw error
            }
        }
    }

    func migrate() async throws {
        try await serialized {
            try await self.run(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
            )
            let applied = Set(
                try await self.run("SELECT version FROM schema_migrations").compactMap { $0.column("version")?.integer })
            for migration in Migration.sqlite where !applied.contains(migration.version) {
                try await self.run("BEGIN IMMEDIATE")
                do {
                    for statement in migration.statements { try await self.run(statement) }
                    try await self.run(
                        "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                        [.integer(migration.version), .text(migration.name), .text(MetadataTime.format(Date()))])
                    try await self.run("COMMIT")
                    self.logger.debug("applied schema migration", metadata: ["version": "\(migration.version)"])
                } catch {
                    _ = try? await self.run("ROLLBACK")
                    throw MetadataError.migrationFailed(version: migration.version, reason: "\(error)")
                }
            }
        }
    }

    /// Applied migration versions, for tests and the status endpoint.
    public func appliedMigrations() async throws -> [Int] {
        try await serialized {
            try await self.run("SELECT version FROM schema_migrations ORDER BY version").compactMap {
                $0.column("version")?.integer
            }
        }
    }
}
