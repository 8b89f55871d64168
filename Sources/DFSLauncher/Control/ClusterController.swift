import Synchronization

/// What the control socket needs of a running cluster; `LocalCluster` provides it, tests a fake.
public protocol ControllableCluster: Sendable {
    func memberStatuses() async -> [ClusterMemberStatus]
    /// Starts a member on its port and waits until it is healthy.
    func start(_ member: ClusterMember) async throws
    /// SIGTERM (SIGKILL with `immediately`) and wait; marks a member that had exited on its own stopped.
    func stop(_ member: ClusterMember, immediately: Bool) async -> ProcessExit?
    func pause(_ member: ClusterMember) async throws
    func resume(_ member: ClusterMember) async throws
}

extension LocalCluster: ControllableCluster {}

/// Carries out `dfs cluster` requests against a cluster: checks the member's state, acts, and says what
/// happened in a sentence. No sockets here; `ClusterControlServer` feeds it lines.
public final class ClusterController: Sendable {
    /// Where `dfs up` is: only a running cluster takes actions; `status` is always answered.
    public enum Phase: Sendable {
        case starting, running, stopping
    }

    private let cluster: any ControllableCluster
    private let supervisorPID: Int32
    private let restartPolicy: RestartPolicy
    private let phase = Mutex(Phase.starting)

    public init(cluster: any ControllableCluster, supervisorPID: Int32, restartPolicy: RestartPolicy) {
        self.cluster = cluster
        self.supervisorPID = supervisorPID
        self.restartPolicy = restartPolicy
    }

    public func enter(_ phase: Phase) {
        self.phase.withLock { $0 = phase }
    }

    /// Answers one request line.
    public func handle(line: String) async -> ClusterControlReply {
        do {
            return await handle(try ClusterControlRequest(parsing: line))
        } catch {
            return await reply(succeeded: false, "\(error)")
        }
    }

    public func handle(_ request: ClusterControlRequest) async -> ClusterControlReply {
        guard request.action != .status else { return await reply(succeeded: true, "") }
        switch phase.withLock({ $0 }) {
        case .starting:
            return await reply(succeeded: false, "dfs up is still starting the cluster; try again when it printed its banner")
        case .stopping: return await reply(succeeded: false, "dfs up is stopping the cluster")
        case .running: break
        }
        let statuses = await cluster.memberStatuses()
        guard let member = request.member, let status = statuses.first(where: { $0.member == member }) else {
            let names = statuses.map(\.member.description).joined(separator: ", ")
            return await reply(
                succeeded: false, "this cluster has no \(request.member?.description ?? "such member"); its members are \(names)")
        }
        if let refusal = request.action.refusal(for: member, in: status.state) {
            return await reply(succeeded: false, refusal)
        }
        do {
            return await reply(succeeded: true, try await perform(request.action, on: member, from: status))
        } catch {
            return await reply(succeeded: false, "\(request.action.rawValue) \(member) failed: \(error)")
        }
    }

    /// Does it; returns the sentence to print.
    private func perform(
        _ action: ClusterControlAction, on member: ClusterMember, from status: ClusterMemberStatus
    ) async throws -> String {
        let pid = status.pid.map { "pid \($0)" } ?? ""
        switch action {
        case .status:
            return ""
        case .start:
            try await cluster.start(member)
            let started = await cluster.memberStatuses().first { $0.member == member }
            return "started \(member) (pid \(started?.pid.map(String.init) ?? "?"), port \(status.port)); it answers /health"
        case .stop, .kill:
            if status.state == .exited {
                _ = await cluster.stop(member, immediately: action == .kill)
                return
                    "\(member) had already exited (\(status.lastExit ?? "unknown")); it now counts as stopped and is not restarted"
            }
            let exit = await cluster.stop(member, immediately: action == .kill)
            let verb = action == .kill ? "killed" : "stopped"
            return "\(verb) \(member) (\(pid)): \(exit.map(\.description) ?? "did not exit in time")"
        case .pause:
            try await cluster.pause(member)
            return "paused \(member) (\(pid), SIGSTOP): its port still accepts connections but it answers nothing"
        case .resume:
            try await cluster.resume(member)
            return "resumed \(member) (\(pid), SIGCONT)"
        }
    }

    private func reply(succeeded: Bool, _ message: String) async -> ClusterControlReply {
        ClusterControlReply(
            succeeded: succeeded, message: message, members: await cluster.memberStatuses(),
            supervisorPID: supervisorPID, restartPolicy: restartPolicy.rawValue
        )
    }
}
