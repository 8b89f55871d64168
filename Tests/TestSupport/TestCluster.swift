import AsyncHTTPClient
import DFSClient
import DFSLauncher
import DFSCore

/// The running cluster a `withCluster` body gets: URLs, HTTP clients, and node faults. Nodes are numbered
/// from 1 like their ids (`stopNode(2)` stops `node-2`).
public final class TestCluster: Sendable {
    /// The launcher underneath, for anything this API does not cover.
    public let local: LocalCluster
    /// Data and logs live here (`data/`, `logs/<member>.log`).
    public let workDirectory: String

    /// The client behind `gateway` and `nodeClient`: one that trusts the cluster's CA when it runs HTTPS.
    public let client: HTTPClient

    init(_ local: LocalCluster, workDirectory: String, client: HTTPClient = .shared) {
        self.local = local
        self.workDirectory = workDirectory
        self.client = client
    }

    public var gatewayURL: String { local.gatewayURL }
    public var nodeCount: Int { local.nodes.count }

    public func nodeURL(_ number: Int) -> String { node(number).url }
    public func nodeID(_ number: Int) -> String { node(number).id }

    /// Calls to the gateway's public API.
    public var gateway: HTTPTestClient { HTTPTestClient(baseURL: gatewayURL, client: client) }

    /// Calls straight to one node's internal API, with the cluster secret unless `withClusterSecret` is false.
    public func nodeClient(_ number: Int, withClusterSecret: Bool = true) -> HTTPTestClient {
        let secretHeader = withClusterSecret ? local.clusterSecret.map { [(ClusterSecret.headerName, $0.value)] } ?? [] : []
        return HTTPTestClient(baseURL: nodeURL(number), defaultHeaders: secretHeader, client: client)
    }

    /// SIGTERM, and waits until it has exited (SIGKILL after 5 s).
    public func stopNode(_ number: Int) async { await local.stop(.node(number)) }

    /// SIGKILL: a crash, no chance to finish anything.
    public func killNode(_ number: Int) async { await local.stop(.node(number), immediately: true) }

    /// Starts a stopped node again on the same port and data folder; returns once it is healthy.
    public func startNode(_ number: Int) async throws { try await local.start(.node(number)) }

    /// SIGSTOP: the node keeps its sockets but answers nothing (a hang), until `resumeNode`.
    public func pauseNode(_ number: Int) async throws { try await local.pause(.node(number)) }

    public func resumeNode(_ number: Int) async throws { try await local.resume(.node(number)) }

    /// Stops the gateway gracefully and starts it again on the same port and metadata.
    public func restartGateway() async throws {
        await local.stop(.gateway)
        try await local.start(.gateway)
    }

    /// Polls `GET /nodes` until the node has `status` (`UP`/`DOWN`) in the gateway's view.
    public func waitForNode(_ number: Int, status: String, timeout: Duration = .seconds(20)) async throws {
        let id = nodeID(number)
        try await eventually("\(id) is \(status) in GET /nodes", timeout: timeout) {
            let nodes = try await gateway.getJSON("/nodes", as: [NodeStatusRow].self)
            return nodes.contains { $0.id == id && $0.status == status }
        }
    }

    /// The end of a member's log (`.gateway`, `.node(2)`).
    public func logTail(of member: ClusterMember, lines: Int = 60) -> String? {
        local.logTail(of: member, lines: lines)
    }

    private func node(_ number: Int) -> LocalClusterNode {
        precondition((1...local.nodes.count).contains(number), "node numbers run from 1 to \(local.nodes.count)")
        return local.nodes[number - 1]
    }
}

/// The two fields of a `GET /nodes` row the harness needs.
struct NodeStatusRow: Decodable {
    let id: String
    let status: String
}
