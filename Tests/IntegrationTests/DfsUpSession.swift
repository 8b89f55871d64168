import DFSLauncher
import Foundation
import TestSupport
import Testing

/// One `dfs up` launched by a test: the real binary on free ports, with its data and logs in a temp folder.
///
/// `withDfsUp` stops it on every path out (SIGKILL to dfs and to each child it recorded), and prints the
/// output and logs when the body throws.
struct DfsUpSession {
    let process: ChildProcess
    let workDirectory: String
    let gatewayPort: Int
    let nodePorts: ClosedRange<Int>
    /// Started with `--tls`: the gateway answers https, signed by `certificateAuthorityFile`.
    var usesTLS = false
    /// The gateway's S3 listener (`--s3-port`), keys in `DATA/s3-credentials`.
    var s3Port = 0

    var gatewayURL: String { "\(usesTLS ? "https" : "http")://127.0.0.1:\(gatewayPort)" }
    var s3URL: String { "\(usesTLS ? "https" : "http")://127.0.0.1:\(s3Port)" }
    var dataDirectory: String { workDirectory + "/data" }
    var certificateAuthorityFile: String { workDirectory + "/data/tls/ca.pem" }
    var standardOutput: String { (try? String(contentsOfFile: workDirectory + "/up.stdout", encoding: .utf8)) ?? "" }
    var standardError: String { (try? String(contentsOfFile: workDirectory + "/up.stderr", encoding: .utf8)) ?? "" }

    static var binaryDirectory: String { ClusterBinaries.directory() }
    static var dfsPath: String { binaryDirectory + "/" + ClusterBinaries.cliName }

    /// Runs `dfs <arguments>` to completion.
    func dfs(_ arguments: [String], environment: [String: String] = [:]) async throws -> CommandRun {
        try await CommandRun.run(
            Self.dfsPath, arguments, environment: ["DFS_GATEWAY": gatewayURL].merging(environment) { _, new in new })
    }

    /// The gateway and node processes `dfs up` started, as `/proc` shows them now.
    func childProcessIDs() -> [Int32] {
        ProcessTable.children(of: process.pid)
    }
}

/// Starts `dfs up --nodes 3` on free ports, waits until it printed its banner and the gateway is healthy,
/// runs `body`, then makes sure nothing it started is left.
func withDfsUp(extraArguments: [String] = [], _ body: (DfsUpSession) async throws -> Void) async throws {
    try #require(
        FileManager.default.isExecutableFile(atPath: DfsUpSession.dfsPath),
        "build the products first (swift build): \(DfsUpSession.dfsPath) is missing"
    )
    let workDirectory = try makeTemporaryDirectory(prefix: "dfs-up")
    let nodePorts = try #require(LoopbackPort.freeRange(count: 3), "no 3 consecutive free ports")
    let ports = LoopbackPort.free(count: 6).filter { !nodePorts.contains($0) }
    let gatewayPort = try #require(ports.first)
    let s3Port = try #require(ports.dropFirst().first)
    let arguments =
        [
            "up", "--port", String(gatewayPort), "--node-port", String(nodePorts.lowerBound), "--nodes", "3",
            "--s3-port", String(s3Port),
            "--data", workDirectory + "/data", "--log-dir", workDirectory + "/logs", "--recovery-interval", "1s",
        ] + extraArguments
    let process = try ChildProcess.launch(
        name: "dfs up",
        executable: DfsUpSession.dfsPath,
        arguments: arguments,
        environment: ProcessInfo.processInfo.environment.merging(["DFS_PARENT_PID": String(getpid())]) { _, new in new },
        output: .files(standardOutput: workDirectory + "/up.stdout", standardError: workDirectory + "/up.stderr")
    )
    var session = DfsUpSession(process: process, workDirectory: workDirectory, gatewayPort: gatewayPort, nodePorts: nodePorts)
    session.s3Port = s3Port
    session.usesTLS = extraArguments.contains("--tls")
    var children: [Int32] = []
    do {
        try await eventually("dfs up printed its banner", timeout: .seconds(90)) {
            if let exit = process.exitStatus { throw DfsUpExitedEarly(exit: exit) }
            return session.standardOutput.contains("SwiftDFS is up")
        }
        children = session.childProcessIDs()
        // Over TLS the banner itself says the gateway answered /health (a test client here would need the CA).
        if !session.usesTLS { _ = try await HTTPTestClient(baseURL: session.gatewayURL).get("/health").expectingSuccess() }
        try await body(session)
    } catch {
        printDiagnostics(of: session, after: error)
        forceStop(session, children: children)
        throw error
    }
    forceStop(session, children: children)
    try? FileManager.default.removeItem(atPath: workDirectory)
}

/// SIGKILL for `dfs up` and every child it had, whatever state the test left them in.
private func forceStop(_ session: DfsUpSession, children: [Int32]) {
    session.process.requestStop(with: SIGKILL)
    for pid in Set(children + session.childProcessIDs()) where ProcessTable.isRunning(pid) {
        kill(pid, SIGKILL)
    }
}

private func printDiagnostics(of session: DfsUpSession, after error: any Error) {
    var report = "dfs up test failed: \(error)\nkept \(session.workDirectory)\n"
    report += "===== dfs up stdout =====\n\(session.standardOutput.suffix(4000))\n"
    report += "===== dfs up stderr =====\n\(session.standardError.suffix(4000))\n"
    let logs = (try? FileManager.default.contentsOfDirectory(atPath: session.workDirectory + "/logs")) ?? []
    for log in logs.sorted() {
        let tail = LogTail.lines(40, ofFile: session.workDirectory + "/logs/" + log) ?? ""
        report += "===== \(log), last lines =====\n\(tail)\n"
    }
    FileHandle.standardError.write(Data(report.utf8))
}

struct DfsUpExitedEarly: Error, CustomStringConvertible {
    let exit: ProcessExit
    var description: String { "dfs up exited before it was ready (\(exit))" }
}
