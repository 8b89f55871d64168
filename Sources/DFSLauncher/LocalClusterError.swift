/// Why a local cluster, or one of its members, could not be started.
public enum LocalClusterError: Error, Sendable, CustomStringConvertible {
    case binaryMissing(path: String)
    case portInUse(port: Int, host: String, member: ClusterMember)
    case exitedBeforeReady(member: ClusterMember, exit: ProcessExit, logTail: String?)
    case notReady(member: ClusterMember, url: String, timeout: Duration)
    case alreadyRunning(ClusterMember)
    case notRunning(ClusterMember)
    case unknownMember(ClusterMember)
    case shuttingDown

    public var description: String {
        switch self {
        case .binaryMissing(let path):
            return "\(path) is missing or not executable; build it (`swift build`) or set DFS_BIN_DIR to the folder that has it"
        case .portInUse(let port, let host, let member):
            return "port \(port) on \(host), wanted by \(member.phrase), is already in use"
        case .exitedBeforeReady(let member, let exit, let logTail):
            let tail = logTail.map { ", its log ends with:\n\($0)" } ?? ""
            return "\(member.phrase) stopped before it was ready (\(exit))\(tail)"
        case .notReady(let member, let url, let timeout):
            return "\(member.phrase) did not answer \(url)/health within \(timeout)"
        case .alreadyRunning(let member):
            return "\(member.phrase) is already running"
        case .notRunning(let member):
            return "\(member.phrase) is not running"
        case .unknownMember(let member):
            return "this cluster has no \(member)"
        case .shuttingDown:
            return "the cluster is shutting down"
        }
    }
}
