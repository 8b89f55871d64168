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

    /// The member a name such as `gateway` or `node-2` stands for, or nil for any other text.
    public init?(name: String) {
        if name == "gateway" {
            self = .gateway
            return
        }
        let digits = name.dropFirst("node-".count)
        guard name.hasPrefix("node-"), let number = Int(digits), number >= 1, String(number) == digits else { return nil }
        self = .node(number)
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

/// Encoded as its name (`"gateway"`, `"node-2"`), as people type it.
extension ClusterMember: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let name = try container.decode(String.self)
        guard let member = ClusterMember(name: name) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not a cluster member: \(name)")
        }
        self = member
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
