import ArgumentParser
import DFSCore
import Foundation
import Glibc
import Testing

@testable import StorageNode

/// Serialized: the environment-fallback case sets process-wide variables.
@Suite("dfs-node options", .serialized)
struct NodeCommandTests {
    @Test("defaults give node-1 on 127.0.0.1:8001 with ./dfs-data/node-1 and a 30 s replication timeout")
    func defaults() throws {
        let configuration = try NodeCommand.parse([]).makeConfiguration()
        #expect(configuration.nodeID.rawValue == "node-1")
        #expect(configuration.host == "127.0.0.1")
        #expect(configuration.port == 8001)
        #expect(configuration.dataDirectory == FileManager.default.currentDirectoryPath + "/dfs-data/node-1")
        #expect(configuration.advertiseURL == "http://127.0.0.1:8001")
        #expect(configuration.gatewayURL == nil)
        #expect(configuration.role == nil)
        #expect(configuration.replicationTimeout == .seconds(30))
        #expect(configuration.heartbeatInterval == .seconds(10))
        #expect(configuration.logLevel == .info)
    }

    @Test("command-line values are typed and normalised")
    func commandLine() throws {
        let configuration = try NodeCommand.parse([
            "--id", "node-7", "--port", "9107", "--data", "/tmp/x/../y", "--gateway", "http://127.0.0.1:8080/",
            "--role", "backup", "--replication-timeout", "1500ms", "--log-level", "debug",
        ]).makeConfiguration()
        #expect(configuration.nodeID.rawValue == "node-7")
        #expect(configuration.dataDirectory == "/tmp/y")
        #expect(configuration.advertiseURL == "http://127.0.0.1:9107")
        #expect(configuration.gatewayURL == "http://127.0.0.1:8080")
        #expect(configuration.role == .backup)
        #expect(configuration.replicationTimeout == .milliseconds(1500))
        #expect(configuration.logLevel == .debug)
    }

    @Test("DFS_<NAME> variables fill options that were not given; the command line wins")
    func environmentFallback() throws {
        setenv("DFS_ID", "node-9", 1)
        setenv("DFS_PORT", "9109", 1)
        setenv("DFS_ROLE", "REPLICA", 1)
        setenv("DFS_GATEWAY", "http://127.0.0.1:8080", 1)
        defer { for name in ["DFS_ID", "DFS_PORT", "DFS_ROLE", "DFS_GATEWAY"] { unsetenv(name) } }
        let configuration = try NodeCommand.parse(["--port", "9200"]).makeConfiguration()
        #expect(configuration.nodeID.rawValue == "node-9")
        #expect(configuration.port == 9200)
        #expect(configuration.role == .replica)
        #expect(configuration.gatewayURL == "http://127.0.0.1:8080")
        #expect(configuration.dataDirectory.hasSuffix("/dfs-data/node-9"))
    }

    @Test(
        "bad values are refused at start",
        arguments: [
            ["--id", "../x"], ["--port", "0"], ["--role", "LEADER"], ["--gateway", "localhost:8080"],
            ["--replication-timeout", "0s"], ["--advertise-url", "ftp://x"],
        ])
    func refused(_ arguments: [String]) {
        #expect(throws: (any Error).self) { try NodeCommand.parse(arguments).makeConfiguration() }
    }
}
