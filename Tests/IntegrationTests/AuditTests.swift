import Foundation
import Testing
import TestSupport

/// The bit-rot audit: corrupt, missing and orphaned blobs are found and dealt with.
@Suite("Bit-rot audit", .serialized)
struct AuditTests {
    @Test("a blob corrupted on disk is found by the periodic audit and repaired from a healthy replica")
    func corruptBlobIsRepaired() async throws {
        try await withCluster(nodes: 3, gatewayArguments: ["--audit-interval", "1s", "--recovery-interval", "1s"]) { cluster in
            try await cluster.waitForAllNodesUp()
            let bytes = randomBytes(100_000)
            let key = try await cluster.gateway.uploadRaw(bytes, filename: "rot.bin").expectingSuccess().json(UploadAnswer.self)
                .file_id
            try flipByte(atPath: cluster.blobPath(node: 2, key: key), offset: 4321)
            // The node checks what it reads: it refuses the damaged copy rather than send it.
            let refused = try await cluster.nodeClient(2).get("/blobs/\(key)")
            #expect(refused.status == 422 && refused.text.contains("blob_corrupt"))

            try await eventually("the audit queued a repair of node-2's copy and it COMPLETED", timeout: .seconds(30)) {
                let items = try await cluster.gateway.getJSON("/replication-queue?node_id=node-2", as: QueueAnswer.self).items
                return items.count == 1 && items[0].status == "COMPLETED" && items[0].error_message == nil
            }
            #expect(sha256Hex(try await cluster.nodeClient(2).get("/blobs/\(key)").expectingSuccess().body) == sha256Hex(bytes))
            let log = cluster.logTail(of: .gateway, lines: 2000) ?? ""
            #expect(log.contains("audit found a corrupt replica"))
            #expect(log.contains("auto-recovered \(key) to node-2"))
            try await eventually("node-2 is a verified replica again") {
                try await cluster.gateway.getJSON("/files", as: FilesAnswer.self).files.first?.replicas == [
                    "node-1", "node-2", "node-3",
                ]
            }
        }
    }

    @Test("POST /audit reports and fixes corrupt, missing and orphaned blobs, and records each replica's verification")
    func manualAuditReport() async throws {
        try await withCluster(
            nodes: 3, gatewayArguments: ["--audit-interval", "0", "--recovery-interval", "1h", "--orphan-grace", "0s"]
        ) { cluster in
            try await cluster.waitForAllNodesUp()
            let bytes = randomBytes(50_000)
            let key = try await cluster.gateway.uploadRaw(bytes, filename: "a.bin").expectingSuccess().json(UploadAnswer.self)
                .file_id
            let orphan = "orphan-" + UUID().uuidString.lowercased()
            _ = try await cluster.nodeClient(1).send(.PUT, "/blobs/\(orphan)", body: randomBytes(300)).expectingSuccess()
            try flipByte(atPath: cluster.blobPath(node: 2, key: key), offset: 0)
            try FileManager.default.removeItem(atPath: cluster.blobPath(node: 3, key: key))
            let before = try await cluster.gateway.get("/files/\(key)").expectingSuccess().jsonObject()

            let report = try await cluster.gateway.post("/audit").expectingSuccess().jsonObject()
            #expect(report["nodes_audited"] as? Int == 3)
            #expect(report["corrupt"] as? Int == 1)
            #expect(report["missing"] as? Int == 1)
            #expect(report["removed_orphans"] as? Int == 1)
            #expect(try await cluster.nodeClient(1).get("/blobs/\(orphan)").status == 404)
            let pending = try await cluster.gateway.getJSON("/replication-queue?status=PENDING", as: QueueAnswer.self)
            #expect(Set(pending.items.map(\.target_node_id)) == ["node-2", "node-3"])
            #expect(try await cluster.gateway.getJSON("/files", as: FilesAnswer.self).files.first?.replicas == ["node-1"])
            // Reads go to the one verified copy meanwhile.
            let download = try await cluster.gateway.download(key).expectingSuccess()
            #expect(download.body == bytes)
            #expect(download.header("X-Routed-From") == "node-1")
            let after = try await cluster.gateway.get("/files/\(key)").expectingSuccess().jsonObject()
            #expect("\(after)" != "\(before)", "node-1's last verification time moved")

            for number in [2, 3] {
                let recover = try await cluster.gateway.post("/nodes/node-\(number)/recover").expectingSuccess().jsonObject()
                #expect(recover["success"] as? Int == 1)
                #expect(
                    sha256Hex(try await cluster.nodeClient(number).get("/blobs/\(key)").expectingSuccess().body)
                        == sha256Hex(bytes))
            }
            let clean = try await cluster.gateway.post("/audit").expectingSuccess().jsonObject()
            #expect(clean["corrupt"] as? Int == 0)
            #expect(clean["missing"] as? Int == 0)
            #expect(clean["replicas_checked"] as? Int == 3)
        }
    }
}

/// Damages one byte of a file in place, as bit rot would.
func flipByte(atPath path: String, offset: UInt64) throws {
    let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
    defer { try? handle.close() }
    try handle.seek(toOffset: offset)
    let original = try handle.read(upToCount: 1) ?? Data([0])
    try handle.seek(toOffset: offset)
    try handle.write(contentsOf: Data([original[0] ^ 0xFF]))
    try handle.synchronize()
}
