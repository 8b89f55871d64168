/// A member that ended without being asked to: a crash, an outside `kill`, a failed start.
public struct ClusterMemberExit: Sendable, CustomStringConvertible {
    public let member: ClusterMember
    public let pid: Int32
    public let exit: ProcessExit
    /// How long it ran: a member that fails at once is restarted more slowly than one that ran for a while.
    public let ranFor: Duration

    public init(member: ClusterMember, pid: Int32, exit: ProcessExit, ranFor: Duration) {
        self.member = member
        self.pid = pid
        self.exit = exit
        self.ranFor = ranFor
    }

    public var description: String { "\(member) (pid \(pid)) exited unexpectedly: \(exit)" }
}
