import DFSClient
import Foundation
import Testing
import TestSupport

/// A MariaDB of one test's own, started through scripts/mariadb-test-server.sh in a fresh data directory,
/// so the test may stop and restart it without disturbing the shared test server other suites use.
struct PrivateMariaDB: Sendable {
    let directory: String
    /// `mysql://dfs:dfspw@127.0.0.1:PORT/dfs`, an empty database.
    let url: String

    private static var script: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("scripts/mariadb-test-server.sh").path
    }

    /// Runs `body` with a running private server and removes it afterwards. The MySQL tests are enabled by
    /// `DFS_TEST_MYSQL_URL` (set by scripts/test.sh): unset, they fail in CI and are cancelled locally.
    static func with(_ body: (PrivateMariaDB) async throws -> Void) async throws {
        let environment = ProcessInfo.processInfo.environment
        if (environment["DFS_TEST_MYSQL_URL"] ?? "").isEmpty {
            if environment["CI"] == "true" { throw MariaDBScriptFailed(description: "DFS_TEST_MYSQL_URL is unset in CI") }
            try Test.cancel("DFS_TEST_MYSQL_URL unset")
        }
        let directory = try makeTemporaryDirectory(prefix: "dfs-mariadb")
        let started = try await run("start", directory: directory)
        guard let line = started.standardOutput.split(separator: "\n").first(where: { $0.contains("DFS_TEST_MYSQL_URL=") }),
            let url = line.split(separator: "'").dropFirst().first
        else {
            _ = try? await run("stop", directory: directory)
            throw MariaDBScriptFailed(description: "no URL from the start script: \(started)")
        }
        let server = PrivateMariaDB(directory: directory, url: String(url))
        do {
            try await body(server)
        } catch {
            _ = try? await run("stop", directory: directory)
            throw error
        }
        _ = try await run("stop", directory: directory)
    }

    /// Shuts the server down; its port and data stay for `resume()`.
    func pause() async throws { _ = try await Self.run("pause", directory: directory) }

    /// Starts it again on the same port and data; returns once it answers.
    func resume() async throws { _ = try await Self.run("resume", directory: directory) }

    @discardableResult
    private static func run(_ command: String, directory: String) async throws -> CommandRun {
        let result = try await CommandRun.run("/bin/bash", [script, command], environment: ["DFS_TEST_MARIADB_DIR": directory])
        guard result.succeeded else { throw MariaDBScriptFailed(description: "mariadb-test-server.sh \(command): \(result)") }
        return result
    }
}

struct MariaDBScriptFailed: Error, CustomStringConvertible {
    let description: String
}
