import AsyncHTTPClient
import Foundation
import Testing
import TestSupport

/// A node that was DOWN is reconciled against the metadata when it returns.
@Suite("Returning nodes and deletes", .serialized)
struct ReturningNodeTests {
    @Test("a file deleted while node-3 is down is removed from node-3 when it returns, stays gone and is never listed")
    func deleteWhileDownNeverResurrects() async throws {
        try await withCluster(nodes: 3, gatewayArguments: ["--probe-interval", "300ms", "--recovery-interval", "1s"]) { cluster in
            try await cluster.waitForAllNodesUp()
            let bytes = randomBytes(40_000)
            let key = try await cluster.gateway.uploadRaw(bytes, filename: "doomed.bin").expectingSuccess().json(
                UploadAnswer.self
            ).file_id
            let kept = try await cluster.gateway.uploadRaw(randomBytes(1000), filename: "kept.bin").expectingSuccess().json(
                UploadAnswer.self
            ).file_id
            await cluster.stopNode(3)
            try await cluster.waitForNode(3, status: "DOWN")
            let deleted = try await cluster.gateway.delete("/files/\(key)").expectingSuccess().jsonObject()
            #expect(deleted["failed"] as? [String] == ["node-3"])
            // The stopped node still has the bytes on disk.
            #expect(FileManager.default.fileExists(atPath: cluster.blobPath(node: 3, key: key)))

            try await cluster.startNode(3)
            try await cluster.waitForNode(3, status: "UP")
            #expect(try await cluster.nodeClient(3).get("/blobs/\(key)").status == 404)
            try await eventually("node-3's DELETE item is COMPLETED") {
                let queue = try await cluster.gateway.getJSON("/replication-queue?node_id=node-3", as: QueueAnswer.self)
                return queue.items.count == 1 && queue.items[0].status == "COMPLETED"
            }
            // After the reconciliation and a further drain that finds nothing to do, it is still gone everywhere.
            try await eventually("node-3 was reconciled and has nothing left to recover", timeout: .seconds(20)) {
                guard cluster.logTail(of: .gateway, lines: 2000)?.contains("reconciled returning node") == true else {
                    return false
                }
                let recover = try await cluster.gateway.post("/nodes/node-3/recover").expectingSuccess().jsonObject()
                return recover["total"] as? Int == 0
            }
            for number in 1...3 { #expect(try await cluster.nodeClient(number).get("/blobs/\(key)").status == 404) }
            let files = try await cluster.gateway.getJSON("/files", as: FilesAnswer.self)
            #expect(files.files.map(\.file_key) == [kept])
            #expect(try await cluster.gateway.download(key).status == 404)
            #expect(try await cluster.gateway.get("/files/\(key)").status == 404)
        }
    }

    @Test("a node that returns while the gateway is down is reconciled when the gateway starts")
    func reconciledAtGatewayStart() async throws {
        try await withCluster(nodes: 3, gatewayArguments: ["--probe-interval", "300ms", "--recovery-interval", "1h"]) { cluster in
            try await cluster.waitForAllNodesUp()
            let key = try await cluster.gateway.uploadRaw(randomBytes(5000), filename: "x.bin").expectingSuccess().json(
                UploadAnswer.self
            ).file_id
            await cluster.stopNode(3)
            try await cluster.waitForNode(3, status: "DOWN")
            _ = try await cluster.gateway.delete("/files/\(key)").expectingSuccess()
            await cluster.local.stop(.gateway)
            try await cluster.startNode(3)
            try await cluster.local.start(.gateway)
            try await eventually("the blob of the deleted file is gone from node-3") {
                try await cluster.nodeClient(3).get("/blobs/\(key)").status == 404
            }
            // Reconciliation or the queued DELETE (drained once the node is UP) may get there first; either removes it.
            // The gateway logs the removal just after the node answered, so the line may trail the 404 a little.
            try await eventually("the gateway logged the reconciliation and the removal") {
                let log = cluster.logTail(of: .gateway, lines: 400) ?? ""
                return log.contains("reconciled node at start")
                    && (log.contains("removed deleted file \(key) from returning node-3")
                        || log.contains("removed deleted file \(key) from node-3"))
            }
        }
    }

    @Test("a returning node loses blobs no file owns and gets back the copies it lost while away")
    func returningNodeIsReconciled() async throws {
        try await withCluster(
            nodes: 3, gatewayArguments: ["--probe-interval", "300ms", "--recovery-interval", "1s", "--orphan-grace", "0s"]
        ) { cluster in
            try await cluster.waitForAllNodesUp()
            let bytes = randomBytes(30_000)
            let key = try await cluster.gateway.uploadRaw(bytes, filename: "lost.bin").expectingSuccess().json(UploadAnswer.self)
                .file_id
            // An orphan: bytes on node-3 that no file owns (an upload that died before its metadata was written).
            let orphan = "orphan-" + UUID().uuidString.lowercased()
            _ = try await cluster.nodeClient(3).send(.PUT, "/blobs/\(orphan)", body: randomBytes(500)).expectingSuccess()

            await cluster.stopNode(3)
            try await cluster.waitForNode(3, status: "DOWN")
            // While it is away, node-3 loses its copy (a replaced disk, an operator's mistake).
            try FileManager.default.removeItem(atPath: cluster.blobPath(node: 3, key: key))
            try await cluster.startNode(3)

            try await eventually("the orphan is removed from node-3", timeout: .seconds(20)) {
                try await cluster.nodeClient(3).get("/blobs/\(orphan)").status == 404
            }
            try await eventually("the lost copy is back on node-3", timeout: .seconds(20)) {
                let blob = try await cluster.nodeClient(3).get("/blobs/\(key)")
                return blob.status == 200 && sha256Hex(blob.body) == sha256Hex(bytes)
            }
            try await eventually("node-3's one repair item, queued by the reconciliation, is COMPLETED") {
                let queue = try await cluster.gateway.getJSON("/replication-queue?node_id=node-3", as: QueueAnswer.self)
                return queue.items.map(\.file_key) == [key] && queue.items.first?.status == "COMPLETED"
            }
            try await eventually("node-3 is listed as a replica again") {
                try await cluster.gateway.getJSON("/files", as: FilesAnswer.self).files.first?.replicas == [
                    "node-1", "node-2", "node-3",
                ]
            }
        }
    }
}

extension TestCluster {
    /// Waits until the gateway sees every node UP, so an upload lands on all of them (a probe that timed out on a
    /// loaded machine at start would otherwise leave a node out until the hysteresis lets it back).
    func waitForAllNodesUp() async throws {
        for number in 1...nodeCount { try await waitForNode(number, status: "UP", timeout: .seconds(30)) }
    }

    /// Where node `node` keeps `key`'s bytes (its digest is the file's `user.dfs.sha256` attribute), per the node's BlobLayout.
    func blobPath(node: Int, key: String) -> String {
        workDirectory + "/data/node-\(node)/blobs/\(key.prefix(2))/\(key)"
    }
}

/// `--rereplicate-after`: a long outage gets its copies re-made on a node that had none.
@Suite("Long outages", .serialized)
struct LongOutageTests {
    @Test("with 4 nodes and 3 replicas, a holder DOWN longer than --rereplicate-after has its copy re-made on the fourth node")
    func longOutageIsRereplicated() async throws {
        try await withCluster(
            nodes: 4,
            gatewayArguments: [
                "--replicas", "3", "--probe-interval", "250ms", "--recovery-interval", "500ms", "--rereplicate-after", "1s",
            ]
        ) { cluster in
            try await cluster.waitForAllNodesUp()
            let bytes = randomBytes(25_000)
            let answer = try await cluster.gateway.uploadRaw(bytes, filename: "far.bin").expectingSuccess().json(
                UploadAnswer.self)
            let holders = Set([answer.node_id] + answer.replication.successful)
            #expect(holders.count == 3)
            let spare = try #require((1...4).first { !holders.contains("node-\($0)") })
            let victim = try #require((1...4).first { holders.contains("node-\($0)") && "node-\($0)" != answer.node_id })
            #expect(try await cluster.nodeClient(spare).get("/blobs/\(answer.file_id)").status == 404)

            await cluster.stopNode(victim)
            try await eventually("the spare node-\(spare) got a copy", timeout: .seconds(30)) {
                let blob = try await cluster.nodeClient(spare).get("/blobs/\(answer.file_id)")
                return blob.status == 200 && sha256Hex(blob.body) == sha256Hex(bytes)
            }
            try await eventually("three serving replicas are listed again") {
                let replicas = try await cluster.gateway.getJSON("/files", as: FilesAnswer.self).files.first?.replicas ?? []
                return replicas.contains("node-\(spare)")
            }
            #expect(cluster.logTail(of: .gateway, lines: 2000)?.contains("queued extra copies for a long outage") == true)
        }
    }
}
