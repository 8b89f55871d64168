import DFSLauncher
import Synchronization
import Testing

/// A cluster of plain values: members change state as the real one's would, and every call is recorded.
final class FakeCluster: ControllableCluster {
    struct State {
        var statuses: [ClusterMemberStatus]
        var calls: [String] = []
        var startFailure: (any Error)?
    }

    let state: Mutex<State>

    init(nodes: Int = 3) {
        let members = [ClusterMember.gateway] + (1...nodes).map { ClusterMember.node($0) }
        state = Mutex(
            State(
                statuses: members.enumerated().map { index, member in
                    ClusterMemberStatus(member: member, state: .running, pid: Int32(1000 + index), port: 8000 + index)
                })
        )
    }

    var calls: [String] { state.withLock { $0.calls } }

    func set(_ member: ClusterMember, to newState: ClusterMemberState, lastExit: String? = nil) {
        update(member) {
            $0.state = newState
            $0.pid = newState == .running || newState == .paused ? $0.pid ?? 4242 : nil
            $0.lastExit = lastExit
        }
    }

    func memberStatuses() async -> [ClusterMemberStatus] { state.withLock { $0.statuses } }

    func start(_ member: ClusterMember) async throws {
        state.withLock { $0.calls.append("start \(member)") }
        if let failure = state.withLock({ $0.startFailure }) { throw failure }
        set(member, to: .running)
    }

    func stop(_ member: ClusterMember, immediately: Bool) async -> ProcessExit? {
        state.withLock { $0.calls.append("\(immediately ? "kill" : "stop") \(member)") }
        set(member, to: .stopped)
        return immediately ? .signaled(signal: 9) : .exited(code: 0)
    }

    func pause(_ member: ClusterMember) async throws {
        state.withLock { $0.calls.append("pause \(member)") }
        set(member, to: .paused)
    }

    func resume(_ member: ClusterMember) async throws {
        state.withLock { $0.calls.append("resume \(member)") }
        set(member, to: .running)
    }

    private func update(_ member: ClusterMember, _ change: (inout ClusterMemberStatus) -> Void) {
        state.withLock { state in
            guard let index = state.statuses.firstIndex(where: { $0.member == member }) else { return }
            change(&state.statuses[index])
        }
    }
}

struct StartTimedOut: Error, CustomStringConvertible {
    var description: String { "node-2 did not answer /health within 30s" }
}

@Suite("ClusterController: dfs cluster requests against a cluster, without sockets")
struct ClusterControllerTests {
    private func makeController(_ cluster: FakeCluster, phase: ClusterController.Phase = .running) -> ClusterController {
        let controller = ClusterController(cluster: cluster, supervisorPID: 77, restartPolicy: .onFailure)
        controller.enter(phase)
        return controller
    }

    @Test("status lists every member and says which dfs up answered")
    func status() async {
        let cluster = FakeCluster()
        let reply = await makeController(cluster).handle(line: "status")
        #expect(reply.succeeded)
        #expect(reply.members.map(\.member) == [.gateway, .node(1), .node(2), .node(3)])
        #expect(reply.supervisorPID == 77 && reply.restartPolicy == "on-failure")
        #expect(cluster.calls.isEmpty)
    }

    @Test("pause, resume, kill, start and stop act on the member and report its new state")
    func actions() async {
        let cluster = FakeCluster()
        let controller = makeController(cluster)
        let pause = await controller.handle(line: "pause node-1")
        #expect(pause.succeeded && pause.message.contains("paused node-1"), "\(pause.message)")
        #expect(pause.members.first { $0.member == .node(1) }?.state == .paused)
        #expect(await controller.handle(line: "resume node-1").succeeded)
        let kill = await controller.handle(line: "kill node-1")
        #expect(kill.succeeded && kill.message.contains("SIGKILL"), "\(kill.message)")
        #expect(await controller.handle(line: "start node-1").succeeded)
        #expect(await controller.handle(line: "stop gateway").succeeded)
        #expect(cluster.calls == ["pause node-1", "resume node-1", "kill node-1", "start node-1", "stop gateway"])
    }

    @Test("a request that does not fit the member's state is refused and changes nothing")
    func badStateIsRefused() async {
        let cluster = FakeCluster()
        cluster.set(.node(2), to: .stopped)
        let controller = makeController(cluster)
        for (line, reason) in [
            ("pause node-2", "not running"), ("resume node-1", "not paused"), ("start node-1", "already running"),
            ("stop node-2", "already stopped"),
        ] {
            let reply = await controller.handle(line: line)
            #expect(!reply.succeeded && reply.message.contains(reason), "\(line): \(reply.message)")
        }
        #expect(cluster.calls.isEmpty)
    }

    @Test("an unknown member or a bad line is refused with a sentence naming the members")
    func unknownMember() async {
        let controller = makeController(FakeCluster())
        let reply = await controller.handle(line: "kill node-9")
        #expect(
            !reply.succeeded && reply.message.contains("no node-9") && reply.message.contains("gateway, node-1, node-2, node-3"),
            "\(reply.message)")
        let garbage = await controller.handle(line: "reboot everything")
        #expect(!garbage.succeeded && garbage.message.contains("unknown action"), "\(garbage.message)")
    }

    @Test("stopping a member that exited on its own marks it stopped (so it is not restarted)")
    func stopAfterCrash() async {
        let cluster = FakeCluster()
        cluster.set(.node(3), to: .exited, lastExit: "killed by SIGKILL")
        let reply = await makeController(cluster).handle(line: "stop node-3")
        #expect(reply.succeeded && reply.message.contains("already exited (killed by SIGKILL)"), "\(reply.message)")
        #expect(reply.members.first { $0.member == .node(3) }?.state == .stopped)
    }

    @Test("a failed start is reported with its reason")
    func failedStart() async {
        let cluster = FakeCluster()
        cluster.set(.node(2), to: .exited, lastExit: "exit status 1")
        cluster.state.withLock { $0.startFailure = StartTimedOut() }
        let reply = await makeController(cluster).handle(line: "start node-2")
        #expect(!reply.succeeded && reply.message.contains("start node-2 failed: node-2 did not answer"), "\(reply.message)")
    }

    @Test("while dfs up starts or stops, actions are refused but status answers")
    func phases() async {
        let cluster = FakeCluster()
        for phase in [ClusterController.Phase.starting, .stopping] {
            let controller = makeController(cluster, phase: phase)
            #expect(await controller.handle(line: "status").succeeded)
            let reply = await controller.handle(line: "kill node-1")
            #expect(!reply.succeeded && reply.message.contains("dfs up is"), "\(reply.message)")
        }
        #expect(cluster.calls.isEmpty)
    }
}
