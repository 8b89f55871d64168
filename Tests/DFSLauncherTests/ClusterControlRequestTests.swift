import DFSLauncher
import Testing

@Suite("Control requests, member states and what each action may do")
struct ClusterControlRequestTests {
    @Test("request lines parse into an action and a member, and print back the same")
    func requestLinesRoundTrip() throws {
        #expect(try ClusterControlRequest(parsing: "status") == ClusterControlRequest(action: .status))
        #expect(try ClusterControlRequest(parsing: "pause node-12") == ClusterControlRequest(action: .pause, member: .node(12)))
        #expect(try ClusterControlRequest(parsing: " kill\tgateway\r") == ClusterControlRequest(action: .kill, member: .gateway))
        for action in ClusterControlAction.allCases where action != .status {
            let request = ClusterControlRequest(action: action, member: .node(3))
            #expect(try ClusterControlRequest(parsing: request.line) == request)
        }
    }

    @Test("bad request lines are refused with the reason")
    func badLinesAreRefused() {
        #expect(throws: ClusterControlRequestError.empty) { try ClusterControlRequest(parsing: "  ") }
        #expect(throws: ClusterControlRequestError.unknownAction("reboot")) {
            try ClusterControlRequest(parsing: "reboot node-1")
        }
        #expect(throws: ClusterControlRequestError.missingMember(.stop)) { try ClusterControlRequest(parsing: "stop") }
        #expect(throws: ClusterControlRequestError.unknownMember("node-0")) { try ClusterControlRequest(parsing: "stop node-0") }
        #expect(throws: ClusterControlRequestError.unknownMember("node-01")) {
            try ClusterControlRequest(parsing: "stop node-01")
        }
        #expect(throws: ClusterControlRequestError.unknownMember("db")) { try ClusterControlRequest(parsing: "start db") }
        #expect(throws: ClusterControlRequestError.unexpectedWords("stop node-1 now")) {
            try ClusterControlRequest(parsing: "stop node-1 now")
        }
        #expect(throws: ClusterControlRequestError.unexpectedWords("status node-1")) {
            try ClusterControlRequest(parsing: "status node-1")
        }
    }

    @Test("member names: gateway and node-N only")
    func memberNames() {
        #expect(ClusterMember(name: "gateway") == .gateway)
        #expect(ClusterMember(name: "node-1") == .node(1))
        for bad in ["Gateway", "node", "node-", "node--1", "node-x", "node-+2", "node-1 "] {
            #expect(ClusterMember(name: bad) == nil, "\(bad)")
        }
    }

    @Test("state of a member from its process: running, paused, stopped on request, exited on its own")
    func memberStates() {
        func state(
            _ hasProcess: Bool = true, exit: ProcessExit? = nil, requested: Bool = false, paused: Bool = false,
            awaiting: Bool = false
        )
            -> ClusterMemberState
        {
            ClusterMemberState.of(
                hasProcess: hasProcess, exit: exit, wasStopRequested: requested, isPaused: paused, isDownUnexpectedly: awaiting)
        }
        #expect(state(false) == .stopped)
        #expect(state() == .running)
        #expect(state(paused: true) == .paused)
        #expect(state(exit: .exited(code: 0), requested: true) == .stopped)
        #expect(state(exit: .signaled(signal: 9)) == .exited)
        // A restart attempt that failed was cleaned up on request, yet the member is still down on its own.
        #expect(state(exit: .signaled(signal: 15), requested: true, awaiting: true) == .exited)
    }

    @Test("what each action may do in each state")
    func refusals() {
        let allowed: [ClusterControlAction: Set<ClusterMemberState>] = [
            .start: [.stopped, .exited],
            .stop: [.running, .paused, .exited],
            .kill: [.running, .paused, .exited],
            .pause: [.running],
            .resume: [.paused],
            .status: Set(ClusterMemberState.allCases),
        ]
        for action in ClusterControlAction.allCases {
            for state in ClusterMemberState.allCases {
                let refusal = action.refusal(for: .node(2), in: state)
                let isAllowed = allowed[action]?.contains(state) == true
                #expect((refusal == nil) == isAllowed, "\(action) in \(state): \(refusal ?? "allowed")")
                if let refusal { #expect(refusal.contains("node-2"), "\(refusal)") }
            }
        }
        #expect(ClusterControlAction.pause.refusal(for: .gateway, in: .exited)?.contains("dfs cluster start gateway") == true)
    }

    @Test("restart delays double while a member keeps failing quickly, up to the cap, and start over after a stable run")
    func restartBackoff() {
        var backoff = RestartBackoff(initialDelay: .seconds(1), maximumDelay: .seconds(5), stableRuntime: .seconds(60))
        let quick = Duration.seconds(2)
        #expect(backoff.delay(afterFailureOf: .node(1), ranFor: quick) == .seconds(1))
        #expect(backoff.delay(afterFailureOf: .node(1), ranFor: quick) == .seconds(2))
        #expect(backoff.delay(afterFailureOf: .node(2), ranFor: quick) == .seconds(1))
        #expect(backoff.delay(afterFailureOf: .node(1), ranFor: quick) == .seconds(4))
        #expect(backoff.delay(afterFailureOf: .node(1), ranFor: quick) == .seconds(5))
        #expect(backoff.delay(afterFailureOf: .node(1), ranFor: quick) == .seconds(5))
        #expect(backoff.delay(afterFailureOf: .node(1), ranFor: .seconds(61)) == .seconds(1))
        #expect(backoff.delay(forAttempt: 1_000) == .seconds(5))
    }
}
