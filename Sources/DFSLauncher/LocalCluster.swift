import DFSClient
import DFSCore
import Foundation
import Synchronization

/// A gateway and its storage nodes running as child processes of this one (`dfs up`, integration tests,
/// `dfs-loadtest --spawn-cluster`).
///
/// Every child gets `DFS_PARENT_PID=<this pid>`, so its `ParentWatchdog` ends it if this process dies
/// without cleaning up. Members are ready once their `GET /health` answers 200; nothing waits on a fixed
/// sleep. Call `shutdown()` on every path out: it stops all members and returns only when none is left.
public actor LocalCluster {
    public nonisolated let configuration: LocalClusterConfiguration
    /// Members that ended without being asked to after they were ready, as they end (one that dies while
    /// starting fails its start instead). Finishes at the first `shutdown()`.
    public nonisolated let unexpectedExits: AsyncStream<ClusterMemberExit>

    private nonisolated let unexpectedExitSink: AsyncStream<ClusterMemberExit>.Continuation
    private let readiness = ReadinessProbe()
    private var processes: [ClusterMember: ChildProcess] = [:]
    /// Members sent SIGSTOP and not SIGCONT since.
    private var pausedMembers: Set<ClusterMember> = []
    /// Members being restarted after they ended on their own; a failed attempt leaves them here.
    private var membersAwaitingRestart: Set<ClusterMember> = []
    /// Set when `shutdown()` begins: no member may start after that.
    private var isStopping = false
    private var isShutDown = false

    /// Checks that both executables exist; starts nothing.
    /// - Throws: `LocalClusterError.binaryMissing` naming the missing file.
    public init(_ configuration: LocalClusterConfiguration) throws {
        for name in [ClusterBinaries.gatewayName, ClusterBinaries.nodeName] {
            let path = (configuration.binaryDirectory as NSString).appendingPathComponent(name)
            guard FileManager.default.isExecutableFile(atPath: path) else { throw LocalClusterError.binaryMissing(path: path) }
        }
        self.configuration = configuration
        (unexpectedExits, unexpectedExitSink) = AsyncStream.makeStream(of: ClusterMemberExit.self)
    }

    public nonisolated var gatewayURL: String { configuration.gatewayURL }

    /// The secret gateway and nodes share (nil when the cluster runs without one, or before the first start):
    /// for callers that talk to nodes directly, such as tests.
    public nonisolated var clusterSecret: ClusterSecret? {
        configuration.clusterSecretFile.flatMap(ClusterSecretFile.load(from:))
    }
    public nonisolated var nodes: [LocalClusterNode] { configuration.nodes }

    /// Starts every node, waits until all are healthy, then the gateway, so its first probe sees them UP.
    ///
    /// On any failure (a port taken, a member that dies or stays unhealthy, cancellation) everything already
    /// started is stopped before the error is thrown.
    public func start() async throws {
        if let running = processes.first(where: { !$0.value.hasExited }) {
            throw LocalClusterError.alreadyRunning(running.key)
        }
        for member in configuration.members
        where !LoopbackPort.isAvailable(configuration.port(of: member), host: configuration.host) {
            throw LocalClusterError.portInUse(port: configuration.port(of: member), host: configuration.host, member: member)
        }
        do {
            try createDirectories()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for node in configuration.nodes {
                    group.addTask { try await self.start(.node(node.number)) }
                }
                try await group.waitForAll()
            }
            try await start(.gateway)
        } catch {
            await shutdown()
            throw error
        }
    }

    /// Starts one member (again) on its port and data folder, and waits until it is healthy.
    /// - Throws: `LocalClusterError` (`.alreadyRunning`, `.exitedBeforeReady`, `.notReady`, …).
    public func start(_ member: ClusterMember) async throws {
        guard configuration.members.contains(member) else { throw LocalClusterError.unknownMember(member) }
        guard !isStopping else { throw LocalClusterError.shuttingDown }
        if let existing = processes[member], !existing.hasExited { throw LocalClusterError.alreadyRunning(member) }
        let port = configuration.port(of: member)
        guard LoopbackPort.isAvailable(port, host: configuration.host) else {
            // Else another server on that port (a stale node) could answer the health probe in its place.
            throw LocalClusterError.portInUse(port: port, host: configuration.host, member: member)
        }
        let secret = try ensureClusterSecret()
        // A node's /health needs the secret like every node route; the gateway's is open.
        let probeSecret = member == .gateway ? nil : secret
        let (process, readiness) = try launch(member)
        processes[member] = process
        pausedMembers.remove(member)
        do {
            try await self.readiness.waitUntilHealthy(
                member, url: configuration.url(of: member), clusterSecret: probeSecret,
                trustRoots: TrustRoots(caFile: configuration.certificates?.certificateAuthorityFile), process: process,
                timeout: configuration.readinessTimeout, logFile: configuration.logFile(of: member)
            )
        } catch {
            // A member that never became ready must not linger, nor be reported later as a crash.
            await stop(process, gracePeriod: configuration.shutdownGracePeriod)
            throw error
        }
        readiness.markReady()
        membersAwaitingRestart.remove(member)
    }

    /// Starts a member again that ended on its own, unless someone started, stopped or killed it since.
    /// Returns the new pid, or nil when the member is no longer down on its own (so it is not restarted).
    /// - Throws: what `start(_:)` throws; the member then stays due for another attempt.
    public func restartAfterFailure(_ member: ClusterMember) async throws -> Int32? {
        guard !isStopping, let process = processes[member], process.hasExited,
            !process.isStopRequested || membersAwaitingRestart.contains(member)
        else { return nil }
        membersAwaitingRestart.insert(member)
        try await start(member)
        return processes[member]?.pid
    }

    /// Stops one member: SIGTERM (or SIGKILL with `immediately`), SIGKILL after the grace period.
    /// Returns how it ended, or nil if it was not running.
    ///
    /// A member that had already ended on its own is marked stopped, so it is not restarted.
    @discardableResult
    public func stop(_ member: ClusterMember, immediately: Bool = false) async -> ProcessExit? {
        guard let process = processes[member] else { return nil }
        pausedMembers.remove(member)
        membersAwaitingRestart.remove(member)
        if let exit = process.exitStatus {
            processes[member] = nil
            return exit
        }
        if immediately {
            process.requestStop(with: SIGKILL)
            return await process.waitForExit(timeout: .seconds(10))
        }
        return await stop(process, gracePeriod: configuration.shutdownGracePeriod)
    }

    /// Freezes a member with SIGSTOP: its sockets stay open but it answers nothing (a hung node).
    public func pause(_ member: ClusterMember) throws {
        try runningProcess(member).send(SIGSTOP)
        pausedMembers.insert(member)
    }

    /// Lets a paused member run again (SIGCONT).
    public func resume(_ member: ClusterMember) throws {
        try runningProcess(member).send(SIGCONT)
        pausedMembers.remove(member)
    }

    /// Every member's state, pid and port, in the order gateway, node-1, node-2…
    public func memberStatuses() -> [ClusterMemberStatus] {
        configuration.members.map { member in
            let process = processes[member]
            let exit = process?.exitStatus
            let state = ClusterMemberState.of(
                hasProcess: process != nil, exit: exit, wasStopRequested: process?.isStopRequested ?? false,
                isPaused: pausedMembers.contains(member), isDownUnexpectedly: membersAwaitingRestart.contains(member)
            )
            return ClusterMemberStatus(
                member: member, state: state, pid: exit == nil ? process?.pid : nil, port: configuration.port(of: member),
                lastExit: exit?.description
            )
        }
    }

    /// The pid of a running member, or nil.
    public func processID(of member: ClusterMember) -> Int32? {
        guard let process = processes[member], !process.hasExited else { return nil }
        return process.pid
    }

    /// The pids of every running member.
    public func runningProcessIDs() -> [ClusterMember: Int32] {
        processes.filter { !$0.value.hasExited }.mapValues(\.pid)
    }

    /// The end of a member's log file, when logs go to files.
    public nonisolated func logTail(of member: ClusterMember, lines: Int = 40) -> String? {
        configuration.logFile(of: member).flatMap { LogTail.lines(lines, ofFile: $0) }
    }

    /// Stops every member — the gateway first, so it records no node as DOWN on the way out — and
    /// returns when all have exited (SIGKILL for any still running after the grace period).
    public func shutdown() async {
        isStopping = true
        let gateway = processes[.gateway]
        if let gateway { await stop(gateway, gracePeriod: configuration.shutdownGracePeriod) }
        let nodes = processes.filter { $0.key != .gateway }.values
        await withTaskGroup(of: Void.self) { group in
            for process in nodes {
                group.addTask { await self.stop(process, gracePeriod: self.configuration.shutdownGracePeriod) }
            }
        }
        processes.removeAll()
        if !isShutDown {
            isShutDown = true
            unexpectedExitSink.finish()
        }
    }

    /// Sends SIGKILL to every member at once and waits for them (a second Ctrl-C).
    public func killAll() async {
        for process in processes.values { process.requestStop(with: SIGKILL) }
        for process in processes.values { _ = await process.waitForExit(timeout: .seconds(10)) }
    }

    // MARK: - plumbing

    private func runningProcess(_ member: ClusterMember) throws -> ChildProcess {
        guard let process = processes[member], !process.hasExited else { throw LocalClusterError.notRunning(member) }
        return process
    }

    @discardableResult
    private nonisolated func stop(_ process: ChildProcess, gracePeriod: Duration) async -> ProcessExit? {
        if let exit = process.exitStatus { return exit }
        process.requestStop(with: SIGTERM)
        process.send(SIGCONT)  // a paused member cannot act on SIGTERM until it runs again
        if let exit = await process.waitForExit(timeout: gracePeriod) { return exit }
        process.requestStop(with: SIGKILL)
        return await process.waitForExit(timeout: .seconds(10))
    }

    /// `mysql://user:secret@host/db` → `mysql://user:***@host/db`; anything else unchanged.
    static func maskingPassword(_ argument: String) -> String {
        guard argument.hasPrefix("mysql://"), let at = argument.lastIndex(of: "@"),
            let colon = argument[argument.index(argument.startIndex, offsetBy: 8)..<at].firstIndex(of: ":")
        else { return argument }
        return String(argument[...colon]) + "***" + String(argument[at...])
    }

    /// The arguments as a log may show them: MySQL passwords and the value after `--cluster-secret` become `***`.
    static func maskingSecrets(_ arguments: [String]) -> [String] {
        arguments.enumerated().map { index, argument in
            if index > 0, arguments[index - 1] == "--cluster-secret" { return "***" }
            if argument.hasPrefix("--cluster-secret=") { return "--cluster-secret=***" }
            return maskingPassword(argument)
        }
    }

    /// Starts the member's process; its exit counts as unexpected only once `markReady()` was called on the
    /// returned flag (one that dies while starting fails its start instead).
    private func launch(_ member: ClusterMember) throws -> (ChildProcess, ReadyFlag) {
        let executable = (configuration.binaryDirectory as NSString).appendingPathComponent(member.binaryName)
        let arguments = configuration.arguments(for: member)
        var environment = ProcessInfo.processInfo.environment
        environment.merge(configuration.extraEnvironment) { _, new in new }
        environment["DFS_PARENT_PID"] = String(getpid())
        let output: ChildOutput
        if let logFile = configuration.logFile(of: member) {
            // A marker per start keeps restarts apart in one appended log.
            // The MySQL password in a `--metadata mysql://USER:PASS@…` argument and a `--cluster-secret` value passed
            // through (`--gateway-arg`) are masked: logs never hold them.
            let printable = Self.maskingSecrets(arguments).joined(separator: " ")
            let marker = "--- \(Date()) starting \(member): \(member.binaryName) \(printable)\n"
            appendToFile(logFile, marker)
            output = .file(logFile)
        } else {
            output = .inherit
        }
        let sink = unexpectedExitSink
        let readiness = ReadyFlag()
        let clock = ContinuousClock()
        let launchedAt = clock.now
        do {
            let process = try ChildProcess.launch(
                name: member.description, executable: executable, arguments: arguments,
                environment: environment, output: output
            ) { pid, exit, wasStopRequested in
                guard !wasStopRequested, readiness.isReady else { return }
                sink.yield(ClusterMemberExit(member: member, pid: pid, exit: exit, ranFor: clock.now - launchedAt))
            }
            return (process, readiness)
        } catch ChildProcessError.notExecutable(let path) {
            throw LocalClusterError.binaryMissing(path: path)
        }
    }

    private func createDirectories() throws {
        var folders = [configuration.dataDirectory] + configuration.nodes.map(\.dataDirectory)
        if let logDirectory = configuration.logDirectory { folders.append(logDirectory) }
        for folder in folders {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        }
        _ = try ensureClusterSecret()
        if configuration.s3Port != nil { _ = try S3CredentialsFile.loadOrCreate(at: configuration.s3CredentialsFile) }
        try configuration.certificates?.ensure(members: configuration.members, host: configuration.host)
    }

    /// The cluster's secret, generated into its file at the first start (nil when the cluster runs without one).
    private func ensureClusterSecret() throws -> ClusterSecret? {
        guard let secretFile = configuration.clusterSecretFile else { return nil }
        try FileManager.default.createDirectory(atPath: configuration.dataDirectory, withIntermediateDirectories: true)
        return try ClusterSecretFile.loadOrCreate(at: secretFile)
    }

    private func appendToFile(_ path: String, _ text: String) {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { return }  // the spawn reports an unwritable log clearly
        let handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
        try? handle.write(contentsOf: Data(text.utf8))
    }
}

/// Whether a started member has answered its first health probe.
private final class ReadyFlag: Sendable {
    private let value = Mutex(false)

    var isReady: Bool { value.withLock { $0 } }

    func markReady() {
        value.withLock { $0 = true }
    }
}
