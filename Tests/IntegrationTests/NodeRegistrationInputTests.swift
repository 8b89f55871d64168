import DFSCore
import Foundation
import Testing
import TestSupport

/// `POST /internal/nodes/register` is how nodes announce themselves; a malformed announcement must not replace a
/// node's address (fuzzing once re-addressed node-1 to `http://`, and every upload through it failed).
@Suite("Node registration input", .serialized)
struct NodeRegistrationInputTests {
    @Test("an address without a host or with another scheme is refused and the node keeps its address")
    func malformedAddressIsRefused() async throws {
        try await withCluster(nodes: 1) { cluster in
            // Registration is internal: only callers holding the cluster secret get as far as the address check.
            let secret = try #require(cluster.local.clusterSecret).value
            for address in ["http://", "http:///blobs", "ftp://127.0.0.1:1", "127.0.0.1:8001"] {
                let body = Array(#"{"id":"node-1","address":"\#(address)"}"#.utf8)
                let response = try await cluster.gateway.post(
                    "/internal/nodes/register", body: body,
                    headers: [("Content-Type", "application/json"), (ClusterSecret.headerName, secret)])
                #expect(response.status == 400, "\(address): \(response)")
            }
            let nodes = try await cluster.gateway.get("/nodes").expectingSuccess().text
            #expect(nodes.contains(cluster.nodeURL(1)), "\(nodes)")
        }
    }
}
