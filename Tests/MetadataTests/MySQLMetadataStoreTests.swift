import DFSLauncher
import DFSCore
@testable import DFSMetadata
import Foundation
import Logging
import Testing

/// What only the MySQL driver has: URL parsing, migrations under a server lock, reconnecting, unreachable servers.
@Suite("MySQL metadata store")
struct MySQLMetadataStoreTests {
    @Test("a mysql:// URL parses into options, percent-decoding credentials and masking the password")
    func urlParses() throws {
        let options = try MySQLConnectionOptions(url: "mysql://dfs:p%40ss%3Aword@127.0.0.1:3307/dfs")
        #expect(options.user == "dfs")
        #expect(options.password == "p@ss:word")
        #expect(options.host == "127.0.0.1")
        #expect(options.port == 3307)
        #expect(options.database == "dfs")
        #expect(!options.description.contains("p@ss"))
        #expect(try MySQLConnectionOptions(url: "mysql://root@db.example/meta").port == 3306)
        #expect(throws: MetadataError.self) { try MySQLConnectionOptions(url: "mysql://dfs:pw@127.0.0.1:99999/dfs") }
        #expect(throws: MetadataError.self) { try MySQLConnectionOptions(url: "mysql://127.0.0.1/dfs") }
        #expect(throws: MetadataError.self) { try MySQLConnectionOptions(url: "mysql://dfs@127.0.0.1") }
    }

    @Test("every file in schema/mysql is a listed migration, numbered like SQLite's")
    func migrationsMatchSchemaFolder() throws {
        let schemaFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
            .appendingPathComponent("schema/mysql")
        let files = try FileManager.default.contentsOfDirectory(atPath: schemaFolder.path).filter { $0.hasSuffix(".sql") }
            .sorted()
        #expect(files == Migration.mysql.map(\.name))
        #expect(Migration.mysql.map(\.version) == Migration.sqlite.map(\.version))
        for migration in Migration.mysql {
            let onDisk = try String(contentsOf: schemaFolder.appendingPathComponent(migration.name), encoding: .utf8)
            #expect(onDisk == migration.sql)
        }
    }

    @Test("an unreachable server is reported as unavailable, not a crash or a hang")
    func unreachableServer() async throws {
        // A port that was free a moment ago: nothing listens there, so connecting is refused at once.
        let port = try #require(LoopbackPort.free(count: 1).first)
        var options = MySQLConnectionOptions(host: "127.0.0.1", port: port, user: "dfs", password: "x", database: "dfs")
        options.connectTimeout = .seconds(1)
        await #expect {
            _ = try await MySQLMetadataStore.open(options, logger: Logger(label: "test"))
        } throws: { error in
            guard case MetadataError.unavailable(let reason) = error else { return false }
            return !reason.contains("\"x\"") && reason.contains("127.0.0.1:\(port)")
        }
    }

    @Test("gateways starting together on an empty database apply each migration exactly once")
    func concurrentMigrations() async throws {
        try await MySQLTestDatabase.withFresh { options in
            let stores = try await withThrowingTaskGroup(of: MySQLMetadataStore.self) { group in
                for _ in 0..<4 { group.addTask { try await MySQLMetadataStore.open(options, logger: Logger(label: "test")) } }
                var stores: [MySQLMetadataStore] = []
                for try await store in group { stores.append(store) }
                return stores
            }
            for store in stores {
                #expect(try await store.appliedMigrations() == Migration.mysql.map(\.version))
                try await store.close()
            }
        }
    }

    @Test("connections killed by the server (as after a restart) are replaced on the next call")
    func reconnectsAfterConnectionsDie() async throws {
        try await MySQLTestDatabase.withFresh { options in
            let store = try await MySQLMetadataStore.open(options, logger: Logger(label: "test"))
            try await store.registerNode(id: node("node-1"), address: "http://127.0.0.1:8001", role: .main)
            // Kill every server-side connection to this test's database, the pooled idle one included.
            let killer = try MySQLConnection.connect(options)
            let ids = try killer.query(
                "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = ? AND ID <> CONNECTION_ID()", [.text(options.database)])
            #expect(!ids.isEmpty)
            for row in ids { try killer.execute("KILL CONNECTION \(Int64(row["ID"] ?? "") ?? 0)") }
            killer.close()
            // The stale connection fails on its first statement; the pool drops it and runs the call on a new one.
            #expect(try await store.nodes().map(\.id) == [node("node-1")])
            try await store.recordProbe(of: node("node-1"), status: .up, latencyMs: 2, at: Date())
            #expect(try await store.nodes().first?.status == .up)
            try await store.close()
        }
    }

    @Test(
        "metadata operations per second on the upload path (benchmark; prints, asserts nothing)",
        .enabled(if: ProcessInfo.processInfo.environment["DFS_METADATA_BENCH"] != nil), arguments: TestBackend.all)
    func uploadPathThroughput(_ backend: TestBackend) async throws {
        let count = Int(ProcessInfo.processInfo.environment["DFS_METADATA_BENCH"] ?? "") ?? 500
        try await backend.withFreshStore { store in
            let clock = ContinuousClock()
            // Sequential: one upload's metadata at a time, so the figure is round trips, not parallelism.
            let sequential = try await clock.measure {
                for index in 0..<count {
                    let file = sampleFile("bench-\(index)")
                    try await store.recordUpload(
                        file, verifiedOn: [node("node-1"), node("node-2"), node("node-3")], verifiedAt: file.uploadedAt, queue: []
                    )
                }
            }
            // One statement per call: the cost of a single round trip (thread hop + network + server).
            try await store.registerNode(id: node("node-1"), address: "http://127.0.0.1:8001", role: .main)
            let singleStatements = try await clock.measure {
                for _ in 0..<count { _ = try await store.nodes() }
            }
            let lookups = try await clock.measure {
                for index in 0..<count { _ = try await store.file(key("bench-\(index)")) }
            }
            let parallel = try await clock.measure {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for worker in 0..<8 {
                        group.addTask {
                            for index in stride(from: worker, to: count, by: 8) {
                                let file = sampleFile("par-\(index)")
                                try await store.recordUpload(
                                    file, verifiedOn: [node("node-1"), node("node-2")], verifiedAt: file.uploadedAt, queue: [])
                            }
                        }
                    }
                    try await group.waitForAll()
                }
            }
            func rate(_ duration: Duration) -> String {
                let seconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
                return String(format: "%.0f ops/s, %.3f ms/op", Double(count) / seconds, seconds * 1000 / Double(count))
            }
            print("[bench] \(backend.rawValue) recordUpload x\(count) sequential: \(rate(sequential))")
            print("[bench] \(backend.rawValue) nodes() (1 statement) x\(count) sequential: \(rate(singleStatements))")
            print("[bench] \(backend.rawValue) file(key) (2 statements) x\(count) sequential: \(rate(lookups))")
            print("[bench] \(backend.rawValue) recordUpload x\(count) 8 concurrent: \(rate(parallel))")
        }
    }
}
