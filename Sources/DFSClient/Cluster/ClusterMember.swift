/// One process of a local cluster: the gateway or a node, numbered from 1 like the ids `node-1`, `node-2`…
public enum ClusterMember: Hashable, Sendable, Comparable, CustomStringConvertible {
    case gateway
    case node(Int)

    /// `gateway` or the node's id (`node-2`): the name used in logs, log files and messages.
    public var description: String {
        switch self {
        case .gateway: return "gateway"
        case .node(let number): return LocalClusterNode.id(number: number)
        }
    }

    /// For sentences: `the gateway`, `node-2`.
    public var phrase: String {
        self == .gateway ? "the gateway" : description
    }

    /// The executable that runs this member.
    public var binaryName: String {
        switch self {
        case .gateway: return ClusterBinaries.gatewayName
        case .node: return ClusterBinaries.nodeName
        }
    }
}
