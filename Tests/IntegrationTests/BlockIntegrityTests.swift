import Foundation
import Testing
import TestSupport

/// Every byte served is verified, ranges included, with blobs damaged on the real nodes' disks: nodes check each
/// block they read against the digests recorded at upload and never send a bad one; the gateway continues from
/// another copy at that byte or aborts the response; damaged copies are marked and repaired, and a damaged source
/// never spreads.
@Suite("Block integrity on real nodes", .serialized)
struct BlockIntegrityTests {
    static let blockSize = 1 << 20
    /// Four blocks, the last one partial.
    static let fileSize = 3 * blockSize + 54_321

    /// What a client can ask for: the whole file, HEAD, and every kind of range.
    static let requests: [(name: String, range: String?)] = [
        ("whole", nil), ("first bytes", "bytes=0-1023"), ("middle", "bytes=1500000-2600000"),
        ("one byte", "bytes=2097152-2097152"),
        ("suffix", "bytes=-70000"), ("open-ended", "bytes=1048570-"), ("whole as a range", "bytes=0-"),
    ]

    /// The bytes a request reads: the whole file, or the part its range names.
    static func span(of range: String?, size: Int) -> Range<Int> {
        guard let range else { return 0..<size }
        let parts = range.dropFirst("bytes=".count).split(separator: "-", omittingEmptySubsequences: false)
        if parts[0].isEmpty { return (size - Int(parts[1])!)..<size }
        let first = Int(parts[0])!
        return first..<(parts[1].isEmpty ? size : min(Int(parts[1])! + 1, size))
    }

    static func expected(_ bytes: [UInt8], range: String?) -> [UInt8] { Array(bytes[span(of: range, size: bytes.count)]) }

    /// A download that either completed (its answer) or was cut (nil): a cut response is never a complete one.
    static func attempt(_ cluster: TestCluster, _ key: String, range: String?) async -> TestResponse? {
        try? await cluster.gateway.download(key, headers: range.map { [("Range", $0)] } ?? [])
    }

    static func damage(_ cluster: TestCluster, node: Int, key: String, block: Int) throws {
        try flipByte(atPath: cluster.blobPath(node: node, key: key), offset: UInt64(block * blockSize + 4_321))
    }

    @Test("one copy damaged on disk: every request of every kind gets exactly the right bytes; the copy is marked and repaired")
    func oneCopyDamaged() async throws {
        // Round-robin sends every third request to the damaged copy, so it is read, whole and by ranges.
        try await withCluster(nodes: 3, gatewayArguments: ["--audit-interval", "0", "--routing", "round-robin"]) { cluster in
            try await cluster.waitForAllNodesUp()
            let bytes = randomBytes(Self.fileSize)
            let key = try await cluster.gateway.uploadRaw(bytes, filename: "one.bin").expectingSuccess().json(UploadAnswer.self)
                .file_id
            try Self.damage(cluster, node: 2, key: key, block: 2)

            var served = 0
            for _ in 0..<5 {
                for request in Self.requests {
                    let answer = try await cluster.gateway.download(key, headers: request.range.map { [("Range", $0)] } ?? [])
                    #expect(answer.status == (request.range == nil ? 200 : 206), "\(request.name)")
                    let right = answer.body == Self.expected(bytes, range: request.range)
                    #expect(right, "\(request.name): \(answer.body.count) bytes")
                    if right { served += 1 }
                }
                let head = try await cluster.gateway.send(.HEAD, "/download/\(key)")
                #expect(
                    head.status == 200 && head.header("Content-Length") == String(Self.fileSize)
                        && head.header("ETag") == "\"\(sha256Hex(bytes))\"")
            }
            #expect(served == 5 * Self.requests.count)
            try await eventually("node-2's damaged copy was marked, queued and repaired", timeout: .seconds(60)) {
                let items = try await cluster.gateway.getJSON("/replication-queue?node_id=node-2", as: QueueAnswer.self).items
                return items.contains { $0.status == "COMPLETED" } && items.allSatisfy { $0.status == "COMPLETED" }
            }
            let log = cluster.logTail(of: .gateway, lines: 5000) ?? ""
            #expect(log.contains("replica damaged; queued for repair"))
            #expect(log.contains("auto-recovered \(key) to node-2"))
            let repaired = try await cluster.nodeClient(2).get("/blobs/\(key)").expectingSuccess()
            #expect(sha256Hex(repaired.body) == sha256Hex(bytes))
            try await eventually("node-2 serves as a verified replica again") {
                try await cluster.gateway.getJSON("/files", as: FilesAnswer.self).files.first?.replicas == [
                    "node-1", "node-2", "node-3",
                ]
            }
        }
    }

    @Test("every copy damaged in the same block: no response completes with a damaged byte, the undamaged ranges are served")
    func everyCopyDamaged() async throws {
        try await withCluster(nodes: 3, gatewayArguments: ["--audit-interval", "0", "--recovery-interval", "1h"]) { cluster in
            try await cluster.waitForAllNodesUp()
            let bytes = randomBytes(Self.fileSize)
            let key = try await cluster.gateway.uploadRaw(bytes, filename: "all.bin").expectingSuccess().json(UploadAnswer.self)
                .file_id
            for node in 1...3 { try Self.damage(cluster, node: node, key: key, block: 1) }

            for _ in 0..<3 {
                for request in Self.requests + [
                    ("inside block 1", "bytes=1048576-1048600"), ("ending in block 1", "bytes=1000000-1048576"),
                ] {
                    let answer = await Self.attempt(cluster, key, range: request.range)
                    let expected = Self.expected(bytes, range: request.range)
                    if Self.span(of: request.range, size: bytes.count).overlaps(Self.blockSize..<(2 * Self.blockSize)) {
                        // Refused before the answer head (503) or cut mid-body: never a complete answer.
                        #expect(
                            answer == nil || answer!.status == 503,
                            "\(request.name) completed: \(answer.map { "\($0.status)" } ?? "")")
                    } else {
                        #expect(answer?.status == 206 && answer?.body == expected, "\(request.name)")
                    }
                }
            }
            try await eventually("every copy is marked CORRUPT") {
                let detail = try await cluster.gateway.get("/files/\(key)").expectingSuccess().jsonObject()
                let locations = detail["locations"] as? [[String: Any]] ?? []
                return locations.count == 3 && locations.allSatisfy { $0["status"] as? String == "CORRUPT" }
            }
            // Marked damaged, the copies still serve the blocks of them that are intact.
            let tail = try await cluster.gateway.download(key, headers: [("Range", "bytes=2097152-")]).expectingSuccess()
            #expect(tail.body == Array(bytes[(2 * Self.blockSize)...]))
        }
    }

    @Test("copies damaged in different blocks: downloads and repairs assemble the file from the intact blocks of each")
    func damageInDifferentBlocks() async throws {
        try await withCluster(
            nodes: 3, gatewayArguments: ["--audit-interval", "1s", "--recovery-interval", "1s", "--retry-backoff", "200ms"]
        ) { cluster in
            try await cluster.waitForAllNodesUp()
            let bytes = randomBytes(Self.fileSize)
            let key = try await cluster.gateway.uploadRaw(bytes, filename: "spread.bin").expectingSuccess().json(
                UploadAnswer.self
            ).file_id
            for (node, block) in [(1, 0), (2, 1), (3, 2)] { try Self.damage(cluster, node: node, key: key, block: block) }

            let whole = try await cluster.gateway.download(key).expectingSuccess()
            #expect(whole.body.count == bytes.count && sha256Hex(whole.body) == sha256Hex(bytes))
            // The audit finds all three; each repair reads around its target's damage from the other two copies.
            try await eventually("every copy is repaired and verified", timeout: .seconds(90)) {
                for node in 1...3 {
                    let blob = try await cluster.nodeClient(node).get("/blobs/\(key)")
                    guard blob.status == 200, sha256Hex(blob.body) == sha256Hex(bytes) else { return false }
                }
                return try await cluster.gateway.getJSON("/files", as: FilesAnswer.self).files.first?.replicas == [
                    "node-1", "node-2", "node-3",
                ]
            }
            let failed = try await cluster.gateway.getJSON("/replication-queue?status=FAILED", as: QueueAnswer.self)
            #expect(failed.count == 0)
        }
    }

    @Test(
        "a repair whose sources are damaged never spreads a bad byte: it continues from another copy, or fails and records nothing"
    )
    func repairFromDamagedSource() async throws {
        try await withCluster(nodes: 3, gatewayArguments: ["--audit-interval", "0", "--recovery-interval", "1h"]) { cluster in
            try await cluster.waitForAllNodesUp()
            await cluster.stopNode(3)
            try await cluster.waitForNode(3, status: "DOWN")
            let bytes = randomBytes(Self.fileSize)
            let answer = try await cluster.gateway.uploadRaw(bytes, filename: "src.bin").expectingSuccess().json(
                UploadAnswer.self)
            let key = answer.file_id
            #expect(answer.replication.failed == ["node-3"])
            // The recorded source is damaged in block 3, the other copy in block 0.
            try Self.damage(cluster, node: 1, key: key, block: 3)
            try Self.damage(cluster, node: 2, key: key, block: 0)
            // node-3 coming back is repaired at once, from the damaged copies.
            try await cluster.startNode(3)
            try await eventually("node-3's repair COMPLETED", timeout: .seconds(30)) {
                try await cluster.gateway.getJSON("/replication-queue?node_id=node-3", as: QueueAnswer.self).items.map(\.status)
                    == ["COMPLETED"]
            }
            let copy = try await cluster.nodeClient(3).get("/blobs/\(key)").expectingSuccess()
            #expect(sha256Hex(copy.body) == sha256Hex(bytes), "the new copy holds none of the damage")
            #expect(cluster.logTail(of: .gateway, lines: 3000)?.contains("auto-recovered \(key) to node-3") == true)

            // Now the same block is damaged everywhere: a repair must fail and record nothing.
            try Self.damage(cluster, node: 3, key: key, block: 3)
            try FileManager.default.removeItem(atPath: cluster.blobPath(node: 2, key: key) + ".blocks")
            try FileManager.default.removeItem(atPath: cluster.blobPath(node: 2, key: key))
            _ = try await cluster.gateway.post("/audit").expectingSuccess()
            let attempt = try await cluster.gateway.post("/nodes/node-2/recover").expectingSuccess().jsonObject()
            #expect(attempt["success"] as? Int == 0 && attempt["failed"] as? Int == 1)
            #expect(try await cluster.nodeClient(2).get("/blobs/\(key)").status == 404, "no partial or damaged copy was kept")
            let detail = try await cluster.gateway.get("/files/\(key)").expectingSuccess().jsonObject()
            let node2 = (detail["locations"] as? [[String: Any]] ?? []).first { $0["node_id"] as? String == "node-2" }
            #expect(node2?["status"] as? String != "ACTIVE", "a failed repair records no copy")
        }
    }
}
