import Foundation
import Testing
import TestSupport

/// Churn: a node that answers again is back in selection at once and gets the copies it missed first, without
/// waiting for the next full probe or recovery pass.
@Suite("A returning node", .serialized)
struct NodeReturnTests {
    @Test("a node back from an outage serves and holds the copies written meanwhile within seconds, not a probe interval")
    func returningNodeIsBackAtOnce() async throws {
        // Full probes once a minute and recovery passes every ten: only the quick probe of left-out nodes and the
        // repair it triggers can bring node-3 back within the test's bound.
        try await withCluster(
            nodes: 3,
            gatewayArguments: ["--probe-interval", "60s", "--recovery-interval", "600s", "--status-change-probes", "1"]
        ) { cluster in
            try await cluster.waitForAllNodesUp()
            await cluster.killNode(3)
            // A live check is a full probe: with one probe to agree, node-3 is DOWN now.
            _ = try await cluster.gateway.get("/nodes/check").expectingSuccess()
            try await cluster.waitForNode(3, status: "DOWN", timeout: .seconds(5))
            var written: [(key: String, bytes: [UInt8])] = []
            for index in 0..<5 {
                let bytes = randomBytes(20_000 + index)
                let answer = try await cluster.gateway.uploadRaw(bytes, filename: "while-away-\(index).bin").expectingSuccess()
                    .json(UploadAnswer.self)
                #expect(answer.replication.failed == ["node-3"], "node-3 is left out and its copy queued")
                written.append((answer.file_id, bytes))
            }
            try await cluster.startNode(3)
            try await cluster.waitForNode(3, status: "UP", timeout: .seconds(10))
            try await eventually("node-3 holds every copy written while it was away", timeout: .seconds(15)) {
                for (key, bytes) in written {
                    let blob = try await cluster.nodeClient(3).get("/blobs/\(key)")
                    guard blob.status == 200, sha256Hex(blob.body) == sha256Hex(bytes) else { return false }
                }
                return true
            }
            try await eventually("every file lists three verified replicas again") {
                let files = try await cluster.gateway.getJSON("/files", as: FilesAnswer.self).files
                return files.count == written.count && files.allSatisfy { $0.replicas.count == 3 }
            }
        }
    }
}
