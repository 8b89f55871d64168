import DFSLauncher
import Foundation
import Testing
import TestSupport

/// Uploads and downloads with nodes stopped or lying about their bytes.
@Suite("Node failures during uploads and downloads", .serialized)
struct NodeFailureTests {
    @Test("with node-2 stopped an upload still answers 200, names node-2 as failed and queues a PENDING item for it")
    func uploadWithNodeDown() async throws {
        // A long recovery interval keeps the queue item PENDING while the test looks at it.
        try await withCluster(nodes: 3, gatewayArguments: ["--recovery-interval", "1h"]) { cluster in
            await cluster.stopNode(2)
            let bytes = randomBytes(50_000)
            let answer = try await cluster.gateway.uploadMultipart(bytes, filename: "test2.jpg").expectingSuccess().json(
                UploadAnswer.self)
            #expect(answer.success)
            #expect(answer.replication.failed == ["node-2"])
            #expect(answer.replication.successful.count == 1)
            #expect(answer.node_id != "node-2")

            let queue = try await cluster.gateway.getJSON("/replication-queue?status=PENDING", as: QueueAnswer.self)
            #expect(queue.count == 1)
            let item = try #require(queue.items.first)
            #expect(item.file_key == answer.file_id)
            #expect(item.target_node_id == "node-2")
            #expect(item.source_node_id == answer.node_id)
            #expect(item.retry_count == 0)
            #expect(item.error_message?.isEmpty == false)
            let byNode = try await cluster.gateway.getJSON("/replication-queue?node_id=node-2", as: QueueAnswer.self)
            #expect(byNode.items.map(\.id) == [item.id])

            let files = try await cluster.gateway.getJSON("/files", as: FilesAnswer.self)
            #expect(files.files.first?.replicas == ["node-1", "node-3"])
            #expect(try await cluster.gateway.download(answer.file_id).expectingSuccess().body == bytes)
        }
    }

    @Test("a download still works when the node holding the first choice is stopped")
    func downloadFailsOver() async throws {
        try await withCluster(nodes: 3, gatewayArguments: ["--probe-interval", "1h"]) { cluster in
            let bytes = randomBytes(200_000)
            let key = try await cluster.gateway.uploadRaw(bytes, filename: "f.bin").expectingSuccess().json(UploadAnswer.self)
                .file_id
            let first = try await cluster.gateway.download(key).expectingSuccess()
            let servedBy = try #require(first.header("X-Routed-From"))
            let number = try #require(Int(servedBy.dropFirst("node-".count)))
            // With probes off, the gateway still believes the node is UP: the failover is what saves the request.
            await cluster.stopNode(number)
            for _ in 0..<3 {
                let again = try await cluster.gateway.download(key).expectingSuccess()
                #expect(again.body == bytes)
                #expect(again.header("X-Routed-From") != servedBy)
            }
        }
    }

    @Test("an upload whose chosen primary refuses the connection goes to the next node")
    func uploadPrimaryFailover() async throws {
        // Probes off: the gateway still believes the stopped nodes are UP, so they are tried and must be skipped.
        try await withCluster(nodes: 3, gatewayArguments: ["--probe-interval", "1h", "--recovery-interval", "1h"]) { cluster in
            await cluster.stopNode(1)
            await cluster.stopNode(3)
            for index in 0..<4 {
                let bytes = randomBytes(30_000)
                let answer = try await cluster.gateway.uploadRaw(bytes, filename: "p\(index)").expectingSuccess().json(
                    UploadAnswer.self)
                #expect(answer.node_id == "node-2")
                #expect(answer.replication.failed.sorted() == ["node-1", "node-3"])
                #expect(try await cluster.gateway.download(answer.file_id).expectingSuccess().body == bytes)
            }
        }
    }

    @Test("a delete while node-3 is down removes the file elsewhere and queues a DELETE for node-3")
    func deleteWithNodeDown() async throws {
        try await withCluster(nodes: 3, gatewayArguments: ["--recovery-interval", "1h"]) { cluster in
            let key = try await cluster.gateway.uploadRaw(randomBytes(5000), filename: "gone.bin").expectingSuccess().json(
                UploadAnswer.self
            ).file_id
            await cluster.stopNode(3)
            try await cluster.waitForNode(3, status: "DOWN")
            let answer = try await cluster.gateway.delete("/files/\(key)").expectingSuccess().jsonObject()
            #expect((answer["deleted_from"] as? [String])?.sorted() == ["node-1", "node-2"])
            #expect(answer["failed"] as? [String] == ["node-3"])
            #expect(answer["deleted_nodes"] as? Int == 2)
            #expect(answer["total_nodes"] as? Int == 3)
            let queue = try await cluster.gateway.getJSON("/replication-queue?node_id=node-3", as: QueueAnswer.self)
            #expect(queue.items.count == 1)
            #expect(queue.items.first?.file_key == key && queue.items.first?.status == "PENDING")
            #expect(try await cluster.gateway.getJSON("/files", as: FilesAnswer.self).count == 0)
            #expect(try await cluster.gateway.download(key).status == 404)
        }
    }

    @Test("a replica that stores different bytes is not counted as a location and is queued for repair")
    func corruptReplicaIsQueued() async throws {
        let fakePort = LoopbackPort.free(count: 1)[0]
        let rotten = try await CorruptingNode(nodeID: "node-3", port: fakePort)
        defer { rotten.stop() }
        try await withCluster(
            // The fake node-3 runs in this test process (starved of CPU when the whole suite runs) and answers health
            // checks 400 ms late on purpose: give it a health timeout that a late answer cannot exhaust, or the
            // primary abandons it as a hung target instead of receiving its wrong digest.
            nodes: 2,
            gatewayArguments: [
                "--replicas", "3", "--recovery-interval", "1h", "--health-timeout", "3s", "--node",
                "node-3=http://127.0.0.1:\(fakePort)",
            ]
        ) { cluster in
            // If a slow first probe left node-3 DOWN, its return would drain the queue this test inspects.
            try await eventually("the fake node-3 is UP in GET /nodes") {
                let nodes =
                    try JSONSerialization.jsonObject(with: Data(try await cluster.gateway.get("/nodes").body)) as? [[String: Any]]
                return nodes?.contains { $0["id"] as? String == "node-3" && $0["status"] as? String == "UP" } == true
            }
            let bytes = randomBytes(100_000)
            let answer = try await cluster.gateway.uploadRaw(bytes, filename: "rot.bin").expectingSuccess().json(
                UploadAnswer.self)
            #expect(answer.node_id != "node-3")
            #expect(answer.replication.failed == ["node-3"])
            let receipt = try #require(answer.replicas.first { $0.node_id == "node-3" })
            #expect(!receipt.verified)
            #expect(receipt.checksum_sha256 != nil && receipt.checksum_sha256 != sha256Hex(bytes))
            // The node did store something: the gateway refused to count it.
            #expect(rotten.storedBytes(answer.file_id) != nil)

            let files = try await cluster.gateway.getJSON("/files", as: FilesAnswer.self)
            #expect(files.files.first?.replicas == ["node-1", "node-2"])
            // The loop's start-up drain may be trying the item right now (and failing, as node-3 rots every copy):
            // wait for it to settle back to PENDING.
            try await eventually("node-3's item is PENDING") {
                try await cluster.gateway.getJSON("/replication-queue?node_id=node-3", as: QueueAnswer.self).items.first?.status
                    == "PENDING"
            }
            let queue = try await cluster.gateway.getJSON("/replication-queue?node_id=node-3", as: QueueAnswer.self)
            #expect(queue.items.count == 1)
            #expect(queue.items.first?.file_key == answer.file_id)
            #expect(queue.items.first?.error_message?.isEmpty == false)
            if queue.items.first?.retry_count == 0 { #expect(queue.items.first?.error_message?.contains("differs") == true) }
        }
    }

    @Test("a node that comes back gets its missing replicas within a recovery interval")
    func recoveryAfterRestart() async throws {
        try await withCluster(nodes: 3, gatewayArguments: ["--probe-interval", "300ms", "--recovery-interval", "1s"]) { cluster in
            await cluster.stopNode(2)
            var keys: [String: String] = [:]
            for index in 0..<3 {
                let bytes = randomBytes(20_000 + index)
                let answer = try await cluster.gateway.uploadRaw(bytes, filename: "r\(index)").expectingSuccess().json(
                    UploadAnswer.self)
                keys[answer.file_id] = sha256Hex(bytes)
            }
            try await cluster.startNode(2)
            try await eventually("node-2's queue is drained", timeout: .seconds(20)) {
                let queue = try await cluster.gateway.getJSON("/replication-queue?node_id=node-2", as: QueueAnswer.self)
                return queue.items.count == 3 && queue.items.allSatisfy { $0.status == "COMPLETED" }
            }
            for (key, digest) in keys {
                let blob = try await cluster.nodeClient(2).get("/blobs/\(key)").expectingSuccess()
                #expect(sha256Hex(blob.body) == digest)
            }
            #expect(cluster.logTail(of: .gateway, lines: 400)?.contains("auto-recovered") == true)
            let recover = try await cluster.gateway.post("/nodes/node-2/recover").expectingSuccess().jsonObject()
            #expect(recover["total"] as? Int == 0)
            #expect(recover["failed"] as? Int == 0)
            #expect(try await cluster.gateway.post("/nodes/node-9/recover").status == 404)
        }
    }
}
