/// A member that ended without being asked to: a crash, an outside `kill`, a failed start.
public struct ClusterMemberExit: Sendable, CustomStringConvertible {
    public let member: ClusterMember
    public let pid: Int32
    public let exit: ProcessExit

    public var description: String { "\(member) (pid \(pid)) exited unexpectedly: \(exit)" }
}
