import DFSLauncher
import Foundation
import TestSupport
import Testing

@Suite("dfs cluster against a running dfs up: failover by hand", .serialized)
struct DfsClusterControlTests {
    @Test(
        "status, pause/resume (state T), kill/start (the gateway sees DOWN, then UP), stop, refusals; a gateway killed from outside leaves dfs up running"
    )
    func controlEachMember() async throws {
        try await withDfsUp(extraArguments: ["--probe-interval", "1s"]) { up in
            // Nodes start before the gateway, so their first registration fails: expected, hence no warning.
            for node in 1...3 {
                let log = (try? String(contentsOfFile: up.workDirectory + "/logs/node-\(node).log", encoding: .utf8)) ?? ""
                #expect(!log.isEmpty && !log.contains("warning"), "node-\(node).log: \(log.suffix(2000))")
            }
            let socket = ClusterControlServer.path(inDataDirectory: up.dataDirectory)
            let attributes = try FileManager.default.attributesOfItem(atPath: socket)
            #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)

            let status = try await up.cluster(["status"])
            try #require(status.succeeded, "\(status)")
            for member in ["gateway", "node-1", "node-2", "node-3"] {
                #expect(status.standardOutput.contains(member), "\(status.standardOutput)")
            }
            #expect(try await up.state(of: "node-1").state == .running)
            let json = try await up.cluster(["status", "--json"])
            let decoded = try JSONDecoder().decode(ClusterControlReply.self, from: Data(json.standardOutput.utf8))
            #expect(decoded.members.map(\.state) == [.running, .running, .running, .running], "\(json)")

            // Paused: frozen by SIGSTOP, which /proc shows as T; resumed: running again.
            let node1 = try #require(try await up.state(of: "node-1").pid)
            let pause = try await up.cluster(["pause", "node-1"])
            #expect(pause.succeeded && pause.standardOutput.contains("paused node-1"), "\(pause)")
            #expect(ProcessTable.state(of: node1) == "T")
            #expect(try await up.state(of: "node-1").state == .paused)
            let pausedAgain = try await up.cluster(["pause", "node-1"])
            #expect(
                pausedAgain.exit == .exited(code: 1) && pausedAgain.standardError.contains("already paused"), "\(pausedAgain)")
            #expect(try await up.cluster(["resume", "node-1"]).succeeded)
            try await eventually("node-1 runs again") { ProcessTable.state(of: node1).map { $0 != "T" } ?? false }

            // Killed: gone, DOWN for the gateway; started again: a new process on the same port, UP again.
            let killed = try await up.cluster(["kill", "node-1"])
            #expect(killed.succeeded && killed.standardOutput.contains("SIGKILL"), "\(killed)")
            #expect(!ProcessTable.isRunning(node1))
            #expect(try await up.state(of: "node-1").state == .stopped)
            try await up.waitForNode("node-1", status: "DOWN")
            let start = try await up.cluster(["start", "node-1"])
            #expect(start.succeeded && start.standardOutput.contains("started node-1"), "\(start)")
            let restarted = try #require(try await up.state(of: "node-1").pid)
            #expect(restarted != node1 && ProcessTable.isRunning(restarted))
            try await up.waitForNode("node-1", status: "UP")

            // Stopped cleanly: SIGTERM, exit 0, and it stays down.
            let stop = try await up.cluster(["stop", "node-2"])
            #expect(stop.succeeded && stop.standardOutput.contains("exit status 0"), "\(stop)")
            #expect(try await up.state(of: "node-2").state == .stopped)

            // Refusals: wrong state, unknown member, bad name; each exits non-zero with a sentence.
            let resume = try await up.cluster(["resume", "node-3"])
            #expect(resume.exit == .exited(code: 1) && resume.standardError.contains("node-3 is not paused"), "\(resume)")
            let unknown = try await up.cluster(["kill", "node-9"])
            #expect(unknown.exit == .exited(code: 1) && unknown.standardError.contains("no node-9"), "\(unknown)")
            let badName = try await up.cluster(["kill", "db"])
            #expect(!badName.succeeded && badName.standardError.contains("not a member"), "\(badName)")
            #expect(try await up.state(of: "node-3").state == .running)

            // The gateway killed from outside: reported, left down, and dfs up keeps serving the socket.
            let gateway = try #require(try await up.state(of: "gateway").pid)
            kill(gateway, SIGKILL)
            try await eventually("dfs up reports the gateway exited") { try await up.state(of: "gateway").state == .exited }
            #expect(!up.process.hasExited, "dfs up ended with the gateway")
            #expect(up.standardError.contains("gateway (pid \(gateway)) exited unexpectedly"), "\(up.standardError)")
            #expect(try await up.cluster(["start", "gateway"]).succeeded)
            _ = try await HTTPTestClient(baseURL: up.gatewayURL).get("/health").expectingSuccess()
        }
    }

    @Test("--restart on-failure starts a node SIGKILLed from outside again on its port; without dfs up, dfs cluster says so")
    func restartOnFailure() async throws {
        try await withDfsUp(extraArguments: ["--restart", "on-failure"]) { up in
            let before = try #require(try await up.state(of: "node-2").pid)
            kill(before, SIGKILL)
            try await eventually("node-2 runs again under a new pid", timeout: .seconds(30)) {
                let status = try await up.state(of: "node-2")
                return status.state == .running && status.pid != nil && status.pid != before
            }
            try await eventually("dfs up logged the restart") { up.standardError.contains("restarted node-2") }
            #expect(up.standardError.contains("restarting it in 1s (--restart on-failure)"), "\(up.standardError)")
            // A member stopped on request is not restarted.
            #expect(try await up.cluster(["stop", "node-3"]).succeeded)
            try await Task.sleep(for: .seconds(2))
            #expect(try await up.state(of: "node-3").state == .stopped)
        }
        let nowhere = try makeTemporaryDirectory(prefix: "dfs-no-up")
        defer { try? FileManager.default.removeItem(atPath: nowhere) }
        let run = try await CommandRun.run(DfsUpSession.dfsPath, ["cluster", "status", "--data", nowhere], timeout: .seconds(30))
        #expect(run.exit == .exited(code: 1) && run.standardError.contains("no running `dfs up` found"), "\(run)")
    }
}

extension DfsUpSession {
    /// Runs `dfs cluster <arguments> --data <this dfs up's data>`.
    func cluster(_ arguments: [String]) async throws -> CommandRun {
        try await CommandRun.run(Self.dfsPath, ["cluster"] + arguments + ["--data", dataDirectory], timeout: .seconds(90))
    }

    /// One member's line of `status`, asked over the control socket.
    func state(of name: String) async throws -> ClusterMemberStatus {
        let reply = try await ClusterControlClient.request(
            ClusterControlRequest(action: .status), to: ClusterControlServer.path(inDataDirectory: dataDirectory),
            timeout: .seconds(10)
        )
        guard let status = reply.members.first(where: { $0.member.description == name }) else { throw MemberMissing(name: name) }
        return status
    }

    /// Polls the gateway's `GET /nodes` until `id` has `status`.
    func waitForNode(_ id: String, status: String, timeout: Duration = .seconds(20)) async throws {
        struct Row: Decodable {
            let id: String
            let status: String
        }
        try await eventually("\(id) is \(status) in GET /nodes", timeout: timeout) {
            try await HTTPTestClient(baseURL: gatewayURL).getJSON("/nodes", as: [Row].self).contains {
                $0.id == id && $0.status == status
            }
        }
    }
}

struct MemberMissing: Error {
    let name: String
}
