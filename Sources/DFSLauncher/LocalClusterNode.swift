/// Where one node of a local cluster listens and keeps its blobs.
public struct LocalClusterNode: Sendable, Equatable {
    public let number: Int
    public let port: Int
    public let url: String
    public let dataDirectory: String

    public var id: String { Self.id(number: number) }

    /// The role the gateway gives a node by its position in `--node`.
    public var role: String {
        switch number {
        case 1: return "MAIN"
        case 2: return "REPLICA"
        default: return "BACKUP"
        }
    }

    static func id(number: Int) -> String { "node-\(number)" }
}
