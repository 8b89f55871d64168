import DFSLauncher
import Foundation

/// Runs a command to completion (a `dfs` client call in a test) and captures its output.
public struct CommandRun: Sendable {
    public let exit: ProcessExit
    public let standardOutput: String
    public let standardError: String

    public var succeeded: Bool { exit.isSuccess }

    /// Runs `executable` with `arguments`, killing it if it outlives `timeout`.
    /// - Parameter environment: added to (or replacing entries of) this process's environment.
    public static func run(
        _ executable: String,
        _ arguments: [String],
        environment: [String: String] = [:],
        timeout: Duration = .seconds(120)
    ) async throws -> CommandRun {
        let folder = try makeTemporaryDirectory(prefix: "dfs-command")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let outputPath = folder + "/stdout"
        let errorPath = folder + "/stderr"
        let child = try ChildProcess.launch(
            name: (executable as NSString).lastPathComponent,
            executable: executable,
            arguments: arguments,
            environment: ProcessInfo.processInfo.environment.merging(environment) { _, new in new },
            output: .files(standardOutput: outputPath, standardError: errorPath)
        )
        var exit = await child.waitForExit(timeout: timeout)
        if exit == nil {
            child.requestStop(with: SIGKILL)
            exit = await child.waitForExit(timeout: .seconds(10))
        }
        return CommandRun(
            exit: exit ?? .signaled(signal: SIGKILL),
            standardOutput: (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "",
            standardError: (try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? ""
        )
    }
}

extension CommandRun: CustomStringConvertible {
    public var description: String {
        "\(exit); stdout:\n\(standardOutput.suffix(2000))\nstderr:\n\(standardError.suffix(2000))"
    }
}
