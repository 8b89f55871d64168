import DFSLauncher
import Foundation
import Testing
import TestSupport

/// The prototype's recovery scenarios against real processes.
@Suite("Recovery scenarios", .serialized)
struct RecoveryScenarioTests {
    @Test("scenario 1: a normal upload on 3 nodes lands verified on all three and queues nothing")
    func scenario1NormalUpload() async throws {
        try await withCluster(nodes: 3) { cluster in
            try await cluster.waitForAllNodesUp()
            let bytes = randomBytes(64_000)
            let answer = try await cluster.gateway.uploadMultipart(bytes, filename: "test1.jpg").expectingSuccess().json(
                UploadAnswer.self)
            #expect(answer.success)
            #expect(answer.checksum_sha256 == sha256Hex(bytes))
            #expect(Set(answer.replication.successful + [answer.node_id]) == ["node-1", "node-2", "node-3"])
            #expect(answer.replication.failed.isEmpty)
            #expect(answer.replicas.allSatisfy { $0.verified })
            for number in 1...3 {
                let blob = try await cluster.nodeClient(number).get("/blobs/\(answer.file_id)").expectingSuccess()
                #expect(sha256Hex(blob.body) == answer.checksum_sha256)
            }
            let queue = try await cluster.gateway.getJSON("/replication-queue", as: QueueAnswer.self)
            #expect(queue.count == 0)
        }
    }

    @Test(
        "scenarios 2 and 3: node-2 stopped, upload succeeds with a PENDING item; node-2 restarted, the copy arrives and the item is COMPLETED"
    )
    func scenarios2And3StoppedNodeCatchesUp() async throws {
        try await withCluster(nodes: 3, gatewayArguments: ["--recovery-interval", "1s", "--probe-interval", "300ms"]) { cluster in
            await cluster.stopNode(2)
            try await cluster.waitForNode(2, status: "DOWN")
            let bytes = randomBytes(80_000)
            let answer = try await cluster.gateway.uploadMultipart(bytes, filename: "test2.jpg").expectingSuccess().json(
                UploadAnswer.self)
            #expect(answer.success)
            #expect(answer.replication.failed == ["node-2"])
            let pending = try await cluster.gateway.getJSON(
                "/replication-queue?status=PENDING&node_id=node-2", as: QueueAnswer.self)
            #expect(pending.items.map(\.file_key) == [answer.file_id])
            let degraded = try await cluster.gateway.get("/status/replication").expectingSuccess().jsonObject()
            #expect(degraded["under_replicated_files"] as? Int == 1)
            #expect(degraded["under_replicated_bytes"] as? Int == bytes.count)
            #expect(degraded["oldest_missing_since"] is String)
            #expect((degraded["queue"] as? [String: Int])?["PENDING"] == 1)
            #expect(degraded["failed_items"] as? Int == 0)

            try await cluster.startNode(2)
            // "Within one recovery interval": the interval is 1 s; the deadline only bounds a slow CI machine.
            try await eventually("node-2's item is COMPLETED", timeout: .seconds(20)) {
                let queue = try await cluster.gateway.getJSON("/replication-queue?node_id=node-2", as: QueueAnswer.self)
                return queue.items.count == 1 && queue.items[0].status == "COMPLETED"
            }
            let blob = try await cluster.nodeClient(2).get("/blobs/\(answer.file_id)").expectingSuccess()
            #expect(sha256Hex(blob.body) == sha256Hex(bytes))
            let files = try await cluster.gateway.getJSON("/files", as: FilesAnswer.self)
            #expect(files.files.first?.replicas == ["node-1", "node-2", "node-3"])
            #expect(cluster.logTail(of: .gateway, lines: 400)?.contains("auto-recovered \(answer.file_id) to node-2") == true)
            let healed = try await cluster.gateway.get("/status/replication").expectingSuccess().jsonObject()
            #expect(healed["under_replicated_files"] as? Int == 0)
            #expect(healed["oldest_missing_since"] == nil || healed["oldest_missing_since"] is NSNull)
            #expect((healed["queue"] as? [String: Int])?["COMPLETED"] == 1)
        }
    }

    @Test("scenario 4: a manual recover of node-2 answers success N, failed 0 for N queued files")
    func scenario4ManualRecover() async throws {
        // Probing and the loop are effectively off, so only the manual recover can copy anything.
        try await withCluster(
            nodes: 3,
            gatewayArguments: ["--recovery-interval", "1h", "--probe-interval", "1h", "--return-probe-interval", "0s"]
        ) { cluster in
            await cluster.stopNode(2)
            let count = 5
            var digests: [String: String] = [:]
            for index in 0..<count {
                let bytes = randomBytes(10_000 + index * 1000)
                let answer = try await cluster.gateway.uploadRaw(bytes, filename: "m\(index).bin").expectingSuccess().json(
                    UploadAnswer.self)
                #expect(answer.replication.failed == ["node-2"])
                digests[answer.file_id] = sha256Hex(bytes)
            }
            try await cluster.startNode(2)
            let before = try await cluster.gateway.getJSON(
                "/replication-queue?status=PENDING&node_id=node-2", as: QueueAnswer.self)
            #expect(before.count == count)

            let recover = try await cluster.gateway.post("/nodes/node-2/recover").expectingSuccess().jsonObject()
            #expect(recover["total"] as? Int == count)
            #expect(recover["success"] as? Int == count)
            #expect(recover["failed"] as? Int == 0)
            #expect(recover["pending_items"] as? Int == 0)
            for (key, digest) in digests {
                let blob = try await cluster.nodeClient(2).get("/blobs/\(key)").expectingSuccess()
                #expect(sha256Hex(blob.body) == digest)
            }
            let completed = try await cluster.gateway.getJSON(
                "/replication-queue?status=COMPLETED&node_id=node-2", as: QueueAnswer.self)
            #expect(completed.count == count)
        }
    }

    @Test("a repair that keeps failing backs off, ends FAILED after --max-retries, and a manual recover then succeeds")
    func repeatedFailuresEndFailedThenManualRecoverSucceeds() async throws {
        try await withCluster(
            nodes: 3,
            gatewayArguments: [
                "--recovery-interval", "1h", "--probe-interval", "1h", "--max-retries", "2", "--retry-backoff", "1h",
            ]
        ) { cluster in
            await cluster.stopNode(2)
            let bytes = randomBytes(30_000)
            let key = try await cluster.gateway.uploadRaw(bytes, filename: "retry.bin").expectingSuccess().json(UploadAnswer.self)
                .file_id

            // Attempt 1 fails: back to PENDING with retry_count 1 and an error, due only after the (1 h) backoff.
            var recover = try await cluster.gateway.post("/nodes/node-2/recover").expectingSuccess().jsonObject()
            #expect(recover["failed"] as? Int == 1)
            var item = try #require(
                try await cluster.gateway.getJSON("/replication-queue?node_id=node-2", as: QueueAnswer.self).items.first)
            #expect(item.status == "PENDING")
            #expect(item.retry_count == 1)
            #expect(item.error_message?.isEmpty == false)
            #expect(item.last_attempt != nil)

            // Attempt 2 (a manual recover takes items still backing off) reaches --max-retries: FAILED.
            recover = try await cluster.gateway.post("/nodes/node-2/recover").expectingSuccess().jsonObject()
            #expect(recover["failed"] as? Int == 1)
            item = try #require(
                try await cluster.gateway.getJSON("/replication-queue?node_id=node-2", as: QueueAnswer.self).items.first)
            #expect(item.status == "FAILED")
            #expect(item.retry_count == 2)
            let status = try await cluster.gateway.get("/status/replication").expectingSuccess().jsonObject()
            #expect(status["failed_items"] as? Int == 1)
            #expect(status["under_replicated_files"] as? Int == 1)

            try await cluster.startNode(2)
            recover = try await cluster.gateway.post("/nodes/node-2/recover").expectingSuccess().jsonObject()
            #expect(recover["success"] as? Int == 1)
            #expect(recover["failed"] as? Int == 0)
            item = try #require(
                try await cluster.gateway.getJSON("/replication-queue?node_id=node-2", as: QueueAnswer.self).items.first)
            #expect(item.status == "COMPLETED")
            let blob = try await cluster.nodeClient(2).get("/blobs/\(key)").expectingSuccess()
            #expect(sha256Hex(blob.body) == sha256Hex(bytes))
        }
    }

    @Test("the recovery loop retries a failing repair with backoff and gives up FAILED after --max-retries")
    func loopBacksOffToFailed() async throws {
        // node-3 is UP but stores rotten bytes, so every automatic attempt fails digest verification.
        let fakePort = LoopbackPort.free(count: 1)[0]
        let rotten = try await CorruptingNode(nodeID: "node-3", port: fakePort)
        defer { rotten.stop() }
        try await withCluster(
            nodes: 2,
            gatewayArguments: [
                "--replicas", "3", "--node", "node-3=http://127.0.0.1:\(fakePort)", "--recovery-interval", "500ms",
                "--probe-interval", "250ms", "--max-retries", "3", "--retry-backoff", "200ms",
            ]
        ) { cluster in
            let key = try await cluster.gateway.uploadRaw(randomBytes(20_000), filename: "rot.bin").expectingSuccess().json(
                UploadAnswer.self
            ).file_id
            try await eventually("node-3's item is FAILED", timeout: .seconds(30)) {
                let queue = try await cluster.gateway.getJSON("/replication-queue?node_id=node-3", as: QueueAnswer.self)
                return queue.items.first?.status == "FAILED"
            }
            let item = try #require(
                try await cluster.gateway.getJSON("/replication-queue?node_id=node-3", as: QueueAnswer.self).items.first)
            #expect(item.file_key == key)
            #expect(item.retry_count == 3)
            #expect(item.error_message?.isEmpty == false)
            #expect(cluster.logTail(of: .gateway, lines: 400)?.contains("repair FAILED after 3 attempts") == true)
        }
    }
}
