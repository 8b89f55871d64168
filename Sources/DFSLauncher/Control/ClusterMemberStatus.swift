/// Whether a member of a running `dfs up` is up, frozen or down, and why it is down.
public enum ClusterMemberState: String, Codable, Sendable, CaseIterable {
    /// Its process runs (it may still be starting up).
    case running
    /// Frozen with SIGSTOP: its port accepts connections but nothing answers.
    case paused
    /// Not started, or stopped on request (`dfs cluster stop|kill`, Ctrl-C); stays down.
    case stopped
    /// Ended without being asked to (a crash, an outside `kill`): down until started again or restarted.
    case exited

    /// How the process of a member stands, turned into its state.
    /// - Parameters:
    ///   - exit: how its last process ended, nil while it runs; `hasProcess` false when it has none.
    ///   - wasStopRequested: its end was asked for (`stop`, `kill`, a start that failed and was cleaned up).
    ///   - isPaused: it was sent SIGSTOP and not SIGCONT since.
    ///   - isDownUnexpectedly: it ended on its own and nobody has taken it in hand since (a failed restart
    ///     attempt keeps it so).
    public static func of(
        hasProcess: Bool, exit: ProcessExit?, wasStopRequested: Bool, isPaused: Bool, isDownUnexpectedly: Bool
    ) -> ClusterMemberState {
        guard hasProcess else { return isDownUnexpectedly ? .exited : .stopped }
        if exit == nil { return isPaused ? .paused : .running }
        return isDownUnexpectedly || !wasStopRequested ? .exited : .stopped
    }
}

/// One line of `dfs cluster status`.
public struct ClusterMemberStatus: Codable, Sendable, Equatable {
    public var member: ClusterMember
    public var state: ClusterMemberState
    /// The running (or paused) process; nil while it is down.
    public var pid: Int32?
    public var port: Int
    /// How its last process ended ("killed by SIGKILL"), when it is down.
    public var lastExit: String?

    public init(member: ClusterMember, state: ClusterMemberState, pid: Int32?, port: Int, lastExit: String? = nil) {
        self.member = member
        self.state = state
        self.pid = pid
        self.port = port
        self.lastExit = lastExit
    }

    enum CodingKeys: String, CodingKey {
        case member, state, pid, port
        case lastExit = "last_exit"
    }
}
