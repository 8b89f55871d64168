import AsyncHTTPClient
import DFSClient
import DFSCore
import Foundation
import NIOCore
import Testing
import TestSupport

/// kill -9 of the gateway during repairs and of a node mid-write.
@Suite("Crash safety of recovery", .serialized)
struct CrashRecoveryTests {
    @Test("gateway kill -9 in the middle of a 200-file repair: after restart all 200 end COMPLETED, none duplicated")
    func gatewayKilledMidRepair() async throws {
        // The rate cap stretches the repair over a few seconds so the kill lands in the middle of it.
        // A short lease: on MySQL the restarted gateway takes over only claims whose lease ran out.
        let arguments = [
            "--probe-interval", "300ms", "--recovery-interval", "1s", "--recovery-rate", "128KiB", "--recovery-concurrency", "4",
            "--repair-lease", "3s",
        ]
        try await withCluster(nodes: 3, gatewayArguments: arguments) { cluster in
            await cluster.stopNode(2)
            try await cluster.waitForNode(2, status: "DOWN")
            let count = 200
            var digests: [String: String] = [:]
            for index in 0..<count {
                let bytes = randomBytes(4096 + index)
                let key = try await cluster.gateway.uploadRaw(bytes, filename: "c\(index).bin").expectingSuccess().json(
                    UploadAnswer.self
                ).file_id
                digests[key] = sha256Hex(bytes)
            }
            try await cluster.startNode(2)
            try await eventually("the repair of node-2 is under way", timeout: .seconds(30), interval: .milliseconds(50)) {
                try await completedCount(on: "node-2", in: cluster) >= 10
            }
            let before = try await completedCount(on: "node-2", in: cluster)
            #expect(before < count, "the kill must land mid-repair; the rate cap should have made room for it")
            _ = await cluster.local.stop(.gateway, immediately: true)
            try await cluster.local.start(.gateway)

            try await eventually("all \(count) items of node-2 are COMPLETED", timeout: .seconds(60)) {
                try await completedCount(on: "node-2", in: cluster) == count
            }
            let items = try await cluster.gateway.getJSON("/replication-queue?node_id=node-2&limit=10000", as: QueueAnswer.self)
                .items
            #expect(items.count == count, "one item per file, no duplicates")
            #expect(Set(items.map(\.file_key)) == Set(digests.keys))
            #expect(items.allSatisfy { $0.status == "COMPLETED" })
            let inventory = try await cluster.nodeClient(2).getJSON("/inventory?limit=10000", as: InventoryAnswer.self)
            #expect(Set(inventory.blobs.map(\.key)) == Set(digests.keys))
            for (key, digest) in digests.prefix(25) {
                let blob = try await cluster.nodeClient(2).get("/blobs/\(key)").expectingSuccess()
                #expect(sha256Hex(blob.body) == digest)
            }
        }
    }

    @Test("node kill -9 in the middle of a blob write leaves no partial blob after restart")
    func nodeKilledMidWrite() async throws {
        try await withCluster(nodes: 1) { cluster in
            let key = "half-written-" + UUID().uuidString.lowercased()
            let (chunks, feed) = AsyncStream.makeStream(of: ByteBuffer.self)
            var request = HTTPClientRequest(url: cluster.nodeURL(1) + "/blobs/\(key)")
            request.method = .PUT
            if let secret = cluster.local.clusterSecret {
                request.headers.add(name: ClusterSecret.headerName, value: secret.value)
            }
            request.body = .stream(chunks, length: .known(Int64(8 << 20)))
            let upload = Task { try await HTTPClient.shared.execute(request, timeout: .seconds(30)) }
            feed.yield(ByteBuffer(bytes: randomBytes(1 << 20)))
            // Wait until the node is writing the body: its temp folder holds the partial file.
            let temporary = cluster.workDirectory + "/data/node-1/tmp"
            try await eventually("the node has a write in progress") {
                !(try FileManager.default.contentsOfDirectory(atPath: temporary)).isEmpty
            }
            await cluster.killNode(1)
            feed.finish()
            _ = try? await upload.value

            try await cluster.startNode(1)
            #expect(try await cluster.nodeClient(1).get("/blobs/\(key)").status == 404)
            let inventory = try await cluster.nodeClient(1).getJSON("/inventory", as: InventoryAnswer.self)
            #expect(inventory.blobs.isEmpty)
            #expect(try FileManager.default.contentsOfDirectory(atPath: temporary).isEmpty)
            let health = try await cluster.nodeClient(1).getJSON("/health", as: NodeHealthAnswer.self)
            #expect(health.blob_count == 0)
        }
    }
}

private func completedCount(on node: String, in cluster: TestCluster) async throws -> Int {
    try await cluster.gateway.getJSON("/replication-queue?node_id=\(node)&status=COMPLETED&limit=10000", as: QueueAnswer.self)
        .count
}

struct InventoryAnswer: Decodable {
    struct Blob: Decodable {
        let key: String
    }
    let blobs: [Blob]
}
