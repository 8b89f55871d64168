import DFSLauncher
import Foundation
import TestSupport
import Testing

@Suite("dfs up and the dfs client, end to end", .serialized)
struct DfsUpTests {
    @Test("dfs put then dfs get returns the same bytes; ls (also --search) and nodes work; SIGINT stops every child")
    func putGetAndGracefulStop() async throws {
        try await withDfsUp { up in
            let original = randomBytes(count: 3 << 20 + 12_345)
            let source = up.workDirectory + "/random.bin"
            try Data(original).write(to: URL(fileURLWithPath: source))

            let put = try await up.dfs(["put", source])
            try #require(put.succeeded, "\(put)")
            let key = try #require(field("file_key", in: put.standardOutput), "no file_key line in: \(put.standardOutput)")

            let copy = up.workDirectory + "/copy.bin"
            let get = try await up.dfs(["get", key, "-o", copy])
            try #require(get.succeeded, "\(get)")
            #expect(try Data(contentsOf: URL(fileURLWithPath: copy)) == Data(original))
            #expect(get.standardError.contains("sha256 verified"))

            let list = try await up.dfs(["ls"])
            #expect(list.succeeded, "\(list)")
            #expect(list.standardOutput.contains(key))
            let found = try await up.dfs(["ls", "--search", "RANDOM.B"])
            #expect(found.succeeded && found.standardOutput.contains(key), "\(found)")
            let none = try await up.dfs(["ls", "--search", "no such name"])
            #expect(none.succeeded && none.standardOutput.contains("no files") && !none.standardOutput.contains(key), "\(none)")
            let nodes = try await up.dfs(["nodes"])
            #expect(nodes.succeeded, "\(nodes)")
            #expect(nodes.standardOutput.contains("node-3"))

            let children = up.childProcessIDs()
            #expect(children.count == 4, "expected a gateway and 3 nodes under dfs up, found \(children)")
            kill(up.process.pid, SIGINT)
            let exit = await up.process.waitForExit(timeout: .seconds(30))
            #expect(exit == .exited(code: 0), "dfs up ended with \(String(describing: exit))")
            // dfs up waits for its children before exiting, so none may be running now.
            let survivors = children.filter(ProcessTable.isRunning)
            #expect(survivors.isEmpty, "still running after dfs up exited: \(survivors)")
        }
    }

    @Test("dfs up passes the routing flags (ejection, stalls, hedging) to the gateway, which accepts them")
    func routingFlagsReachTheGateway() async throws {
        let routing = ["--eject-after", "3", "--stall-timeout", "3s", "--hedge-after", "30ms,400ms", "--hedge-budget", "10%"]
        try await withDfsUp(extraArguments: routing + ["--no-hedging"]) { up in
            let commandLines = up.childProcessIDs().map(ProcessTable.commandLine(of:))
            let gateway = try #require(
                commandLines.first { $0.first?.hasSuffix("dfs-gateway") == true }, "no gateway among \(commandLines)")
            for pair in stride(from: 0, to: routing.count, by: 2) {
                let flag = routing[pair]
                let index = try #require(gateway.firstIndex(of: flag), "\(flag) missing from \(gateway)")
                #expect(gateway.indices.contains(index + 1) && gateway[index + 1] == routing[pair + 1], "\(flag) in \(gateway)")
            }
            #expect(gateway.contains("--no-hedging"))
            // Nodes take none of them.
            for node in commandLines where node != gateway { #expect(!node.contains("--hedge-after"), "\(node)") }
        }
    }

    @Test("SIGKILL of dfs up makes the gateway and nodes exit on their own (ParentWatchdog)")
    func childrenExitAfterSupervisorIsKilled() async throws {
        try await withDfsUp { up in
            let children = up.childProcessIDs()
            #expect(children.count == 4, "expected a gateway and 3 nodes under dfs up, found \(children)")
            kill(up.process.pid, SIGKILL)
            _ = await up.process.waitForExit(timeout: .seconds(10))
            // Ports are not checked: a test running in parallel may take a freed one at once.
            try await eventually("every child of the killed dfs up has exited", timeout: .seconds(10)) {
                children.allSatisfy { !ProcessTable.isRunning($0) }
            }
        }
    }

    @Test("dfs up refuses a taken port and names it, starting nothing")
    func takenPortIsNamed() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: DfsUpSession.dfsPath), "build the products first")
        let occupied = try ListeningSocket()
        let nodePorts = try #require(LoopbackPort.freeRange(count: 3))
        let data = try makeTemporaryDirectory(prefix: "dfs-up-port")
        defer { try? FileManager.default.removeItem(atPath: data) }
        let run = try await CommandRun.run(
            DfsUpSession.dfsPath,
            ["up", "--port", String(occupied.port), "--node-port", String(nodePorts.lowerBound), "--data", data],
            timeout: .seconds(30)
        )
        #expect(run.exit == .exited(code: 1), "\(run)")
        #expect(run.standardError.contains("port \(occupied.port)"), "\(run)")
        #expect(nodePorts.allSatisfy { LoopbackPort.isAvailable($0) }, "a node was started anyway")
    }

    @Test("a client command against an unreachable gateway says so in a sentence and exits 1")
    func unreachableGatewayIsExplained() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: DfsUpSession.dfsPath), "build the products first")
        let port = try #require(LoopbackPort.free(count: 1).first)
        let run = try await CommandRun.run(
            DfsUpSession.dfsPath, ["ls", "--gateway", "http://127.0.0.1:\(port)"], timeout: .seconds(30))
        #expect(run.exit == .exited(code: 1), "\(run)")
        #expect(run.standardError.contains("cannot reach the gateway at http://127.0.0.1:\(port)"), "\(run)")
    }
}

/// `count` bytes from the system's random source.
private func randomBytes(count: Int) -> [UInt8] {
    var generator = SystemRandomNumberGenerator()
    return (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
}

/// The value of a `name   value` line of `dfs put` output.
private func field(_ name: String, in output: String) -> String? {
    output.split(separator: "\n")
        .first { $0.hasPrefix(name + " ") }
        .map { $0.dropFirst(name.count).trimmingCharacters(in: .whitespaces) }
}
