import Foundation
import Testing
import TestSupport

/// `GET /nodes` carries each node's free space and blob count from the last probe, so the dashboard can poll
/// it instead of `GET /nodes/check` (which probes every node again).
@Suite("GET /nodes shows the last probe's free space and blob count", .serialized)
struct NodeListTests {
    private struct NodeAnswer: Decodable {
        let id: String
        let status: String
        let free_bytes: Int64?
        let blob_count: Int?
    }

    @Test("free_bytes and blob_count follow the probes: an upload shows up as one more blob on every node")
    func freeSpaceAndBlobCount() async throws {
        try await withCluster(nodes: 3) { cluster in
            let before = try await cluster.gateway.getJSON("/nodes", as: [NodeAnswer].self)
            #expect(before.count == 3)
            for node in before {
                #expect((node.free_bytes ?? 0) > 0, "\(node.id) has no free_bytes")
                #expect(node.blob_count == 0, "\(node.id) blob_count")
            }
            let upload = try await cluster.gateway.uploadRaw(randomBytes(10_000), filename: "counted.bin")
            #expect(upload.status == 200)
            // The harness probes every 500 ms.
            try await eventually("every node reports one blob") {
                let nodes = try await cluster.gateway.getJSON("/nodes", as: [NodeAnswer].self)
                return nodes.allSatisfy { $0.blob_count == 1 }
            }
        }
    }
}
