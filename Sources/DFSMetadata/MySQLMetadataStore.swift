import DFSCore
import Foundation
import Logging

/// `MetadataStore` on MySQL 8 or MariaDB 10.6+ through the MySQL C client.
///
/// Several gateways may share one database: every operation is one transaction (or one statement) on a
/// pooled connection, queue claims lock rows with `FOR UPDATE SKIP LOCKED`, and migrations run under a
/// named server lock. All SQL is constant text with `?` placeholders; values are only ever bound.
public final class MySQLMetadataStore: MetadataStore {
    let pool: MySQLConnectionPool
    let logger: Logger
    /// Uploads recorded while a commit is under way wait for the next one (see `GroupCommit`).
    let uploadCommits = GroupCommit<UploadRecord>()

    private init(pool: MySQLConnectionPool, logger: Logger) {
        self.pool = pool
        self.logger = logger
    }

    /// Connects, then applies pending migrations under `GET_LOCK('dfs_migrations')`.
    /// - Throws: `MetadataError.unavailable` if the server cannot be reached, `migrationFailed` if a migration fails.
    public static func open(_ options: MySQLConnectionOptions, logger: Logger) async throws -> MySQLMetadataStore {
        let store = MySQLMetadataStore(pool: MySQLConnectionPool(options: options), logger: logger)
        do {
            try await store.migrate(options)
        } catch {
            try? await store.pool.close()
            throw error
        }
        return store
    }

    public func close() async throws {
        try await pool.close()
    }

    // MARK: - plumbing

    /// Runs `body` on a pooled connection; with `transaction`, between START TRANSACTION and COMMIT
    /// (rolled back if it throws, and run again from the start after a deadlock).
    @discardableResult
    func withConnection<T: Sendable>(
        transaction: Bool = false, _ body: @escaping @Sendable (MySQLConnection) throws -> T
    ) async throws -> T {
        try await pool.withConnection { connection in
            guard transaction else { return try body(connection) }
            try connection.execute("START TRANSACTION")
            do {
                let result = try body(connection)
                try connection.execute("COMMIT")
                return result
            } catch {
                if !connection.isBroken { try? connection.execute("ROLLBACK") }
                throw error
            }
        }
    }

    /// Applies the migrations not yet recorded in `schema_migrations`. Two gateways starting together
    /// serialise on the server-wide lock, so the second one finds everything applied.
    func migrate(_ options: MySQLConnectionOptions) async throws {
        let logger = self.logger
        try await pool.withConnection { connection in
            // One lock per database; waits of 5 s each stay below the read timeout that bounds every round trip.
            let lockName = MySQLValue.text("dfs_migrations." + options.database)
            var isLocked = false
            for _ in 0..<6 where !isLocked {
                isLocked = try connection.query("SELECT GET_LOCK(?, 5) AS locked", [lockName]).first?["locked"] == "1"
            }
            guard isLocked else { throw MetadataError.unavailable("another gateway held the migration lock for 30 s") }
            defer { _ = try? connection.query("SELECT RELEASE_LOCK(?)", [lockName]) }
            try connection.execute(
                """
                CREATE TABLE IF NOT EXISTS schema_migrations (version INT NOT NULL PRIMARY KEY, name VARCHAR(255) NOT NULL,
                    applied_at DATETIME(3) NOT NULL) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4
                """)
            let applied = Set(
                try connection.query("SELECT version FROM schema_migrations").compactMap { $0["version"].flatMap { Int($0) } })
            for migration in Migration.mysql where !applied.contains(migration.version) {
                do {
                    for statement in migration.statements {
                        do {
                            try connection.execute(statement)
                        } catch let error as MySQLError where error.isAlreadyApplied {
                            logger.debug(
                                "migration statement already applied",
                                metadata: ["version": "\(migration.version)", "error": "\(error)"])
                        }
                    }
                    try connection.update(
                        "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                        [.int(Int64(migration.version)), .text(migration.name), Self.time(Date())])
                } catch let error as MySQLError where !error.isConnectionLost {
                    throw MetadataError.migrationFailed(version: migration.version, reason: "\(error)")
                }
                logger.debug("applied schema migration", metadata: ["version": "\(migration.version)"])
            }
        }
    }

    /// Applied migration versions, for tests and the status endpoint.
    public func appliedMigrations() async throws -> [Int] {
        try await withConnection { connection in
            try connection.query("SELECT version FROM schema_migrations ORDER BY version").compactMap {
                $0["version"].flatMap { Int($0) }
            }
        }
    }
}
