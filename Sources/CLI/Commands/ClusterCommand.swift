import ArgumentParser
import DFSLauncher
import DFSOptions
import Foundation

/// `dfs cluster …`: acts on one member of a running `dfs up` through its control socket.
struct ClusterCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster",
        abstract: "List, stop, kill, start, pause or resume the members of a running `dfs up` (failover demos by hand).",
        discussion: """
            Talks to the `dfs up` whose data folder is --data (default ./dfs-data, env DFS_DATA) through \
            DATA/control.sock, a socket only the user running it may open. MEMBER is `gateway` or a node id \
            (node-1, node-2, …).

              dfs cluster status            every member: state, pid, port (--json for scripts)
              dfs cluster pause node-1      SIGSTOP: a hung node (port open, no answers)
              dfs cluster resume node-1     SIGCONT
              dfs cluster kill node-1       SIGKILL: a crash
              dfs cluster stop node-1       SIGTERM and wait: a clean stop
              dfs cluster start node-1      start it again on its port, with its data

            A member stopped or killed here stays down; one that dies on its own is reported by `dfs up` and \
            left down, unless it runs with --restart on-failure.
            """,
        subcommands: [Status.self, Stop.self, Kill.self, Start.self, Pause.self, Resume.self]
    )

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List every member of the running `dfs up`: state (running, paused, stopped, exited), pid and port."
        )

        @Flag(help: "Print the reply of `dfs up` as JSON (members with state, pid, port, last_exit) for scripts.")
        var json = false

        @OptionGroup var control: ClusterControlOptions

        func run() throws {
            let reply = try control.send(ClusterControlRequest(action: .status))
            guard json else { return print(ClusterStatusText(reply).rendered) }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(reply), as: UTF8.self))
        }
    }

    struct Stop: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Stop a member cleanly: SIGTERM, then wait (SIGKILL after 5 s). It stays down until `dfs cluster start`."
        )
        @OptionGroup var target: MemberArgument
        @OptionGroup var control: ClusterControlOptions
        func run() throws { try control.perform(.stop, on: target) }
    }

    struct Kill: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Kill a member at once (SIGKILL), as a crash would. It stays down until `dfs cluster start`."
        )
        @OptionGroup var target: MemberArgument
        @OptionGroup var control: ClusterControlOptions
        func run() throws { try control.perform(.kill, on: target) }
    }

    struct Start: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Start a stopped, killed or exited member again, with the same arguments, port and data; waits until it answers /health."
        )
        @OptionGroup var target: MemberArgument
        @OptionGroup var control: ClusterControlOptions
        func run() throws { try control.perform(.start, on: target) }
    }

    struct Pause: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Freeze a member (SIGSTOP): its port still accepts connections but nothing answers, like a hung host."
        )
        @OptionGroup var target: MemberArgument
        @OptionGroup var control: ClusterControlOptions
        func run() throws { try control.perform(.pause, on: target) }
    }

    struct Resume: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Let a paused member run again (SIGCONT).")
        @OptionGroup var target: MemberArgument
        @OptionGroup var control: ClusterControlOptions
        func run() throws { try control.perform(.resume, on: target) }
    }
}

/// The MEMBER argument of the action commands.
struct MemberArgument: ParsableArguments {
    @Argument(help: ArgumentHelp("gateway, or a node id such as node-1.", valueName: "member"))
    var name: String

    func validate() throws {
        guard ClusterMember(name: name) != nil else {
            throw ValidationError("'\(name)' is not a member: use gateway or a node id such as node-1")
        }
    }

    var member: ClusterMember {
        // validate() has accepted the name.
        ClusterMember(name: name) ?? .gateway
    }
}

/// `--data` and `--timeout` of every `dfs cluster` command.
struct ClusterControlOptions: ParsableArguments {
    @Option(help: "The data folder of the `dfs up` to control; default ./dfs-data (env: DFS_DATA).", completion: .directory)
    var data: String?

    @Option(help: "How long to wait for the answer; a start waits until the member is healthy.")
    var timeout: DurationArgument = DurationArgument(.seconds(60))

    var socketPath: String {
        let folder = data ?? OptionEnvironment.value(for: "data") ?? "./dfs-data"
        return ClusterControlServer.path(inDataDirectory: (folder as NSString).expandingTildeInPath)
    }

    func send(_ request: ClusterControlRequest) throws -> ClusterControlReply {
        try ClusterControlClient.send(request, to: socketPath, timeout: timeout.duration)
    }

    /// Sends the action, prints what happened; a refusal or failure exits 1 with the reason on stderr.
    func perform(_ action: ClusterControlAction, on target: MemberArgument) throws {
        let reply = try send(ClusterControlRequest(action: action, member: target.member))
        guard reply.succeeded else { throw ClusterRequestRefused(message: reply.message) }
        print(reply.message)
    }
}

/// `dfs up` did not carry the request out; its sentence says why.
struct ClusterRequestRefused: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
