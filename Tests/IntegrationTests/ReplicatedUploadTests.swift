import DFSCore
import Foundation
import Testing
import TestSupport

/// The core path through real processes: upload through the gateway, three verified replicas, download back.
@Suite("Replicated uploads and downloads", .serialized)
struct ReplicatedUploadTests {
    @Test("an upload lands on 3 nodes with identical SHA-256, 2 successful replicas, and downloads intact")
    func uploadLandsOnThreeNodes() async throws {
        try await withCluster(nodes: 3) { cluster in
            let bytes = randomBytes(300_000)
            let answer = try await cluster.gateway.uploadMultipart(bytes, filename: "photo one.jpg").expectingSuccess().json(
                UploadAnswer.self)
            #expect(answer.success)
            #expect(answer.original_filename == "photo one.jpg")
            #expect(answer.size_bytes == 300_000)
            #expect(answer.checksum_sha256 == sha256Hex(bytes))
            #expect(answer.routed_via == "naming-service")
            #expect(answer.selected_node == answer.node_id)
            #expect(answer.replication.successful.count == 2)
            #expect(!answer.replication.successful.contains(answer.node_id))
            #expect(answer.replication.failed.isEmpty)
            #expect(
                answer.replicas.count == 3 && answer.replicas.allSatisfy { $0.verified && $0.checksum_sha256 == sha256Hex(bytes) }
            )

            // Every node holds the same bytes (read straight from the node, bypassing the gateway).
            for number in 1...3 {
                let blob = try await cluster.nodeClient(number).get("/blobs/\(answer.file_id)").expectingSuccess()
                #expect(sha256Hex(blob.body) == sha256Hex(bytes), "node-\(number) holds different bytes")
            }

            let download = try await cluster.gateway.download(answer.file_id).expectingSuccess()
            #expect(download.body == bytes)
            #expect(download.header("Content-Length") == "300000")
            #expect(download.header("ETag") == "\"\(sha256Hex(bytes))\"")
            #expect(download.header("Content-Disposition")?.contains("filename=\"photo one.jpg\"") == true)
            #expect(["node-1", "node-2", "node-3"].contains(download.header("X-Routed-From") ?? ""))
            #expect(download.header("X-Node-Latency-Ms").flatMap(Double.init) != nil)
        }
    }

    @Test("the monitoring endpoints answer in the prototype's shapes")
    func monitoringShapes() async throws {
        try await withCluster(nodes: 3) { cluster in
            let bytes = randomBytes(10_000)
            let upload = try await cluster.gateway.uploadRaw(bytes, filename: "a.txt").expectingSuccess().json(UploadAnswer.self)

            let health = try await cluster.gateway.get("/health").expectingSuccess().jsonObject()
            #expect(health["status"] as? String == "UP")
            #expect(health["service"] as? String == "naming-service")

            let files = try await cluster.gateway.getJSON("/files", as: FilesAnswer.self)
            #expect(files.count == 1)
            #expect(files.files[0].file_key == upload.file_id)
            #expect(files.files[0].original_filename == "a.txt")
            #expect(files.files[0].replicas == ["node-1", "node-2", "node-3"])
            #expect(files.files[0].checksum_sha256 == sha256Hex(bytes))

            let nodes = try await cluster.gateway.get("/nodes").expectingSuccess()
            let rows = try #require(try JSONSerialization.jsonObject(with: Data(nodes.body)) as? [[String: Any]])
            #expect(rows.map { $0["id"] as? String } == ["node-1", "node-2", "node-3"])
            #expect(rows.map { $0["role"] as? String } == ["MAIN", "REPLICA", "BACKUP"])
            for row in rows {
                #expect(row["status"] as? String == "UP")
                #expect(row["address"] is String && row["last_heartbeat"] is String && row["latency_ms"] is Double)
            }

            let check = try await cluster.gateway.get("/nodes/check").expectingSuccess().jsonObject()
            #expect(check["checked_at"] is String)
            let checked = try #require(check["nodes"] as? [[String: Any]])
            #expect(checked.count == 3)
            #expect(
                checked.allSatisfy {
                    $0["status"] as? String == "UP" && $0["latency_ms"] is Double && $0["id"] is String && $0["address"] is String
                })

            let queue = try await cluster.gateway.getJSON("/replication-queue", as: QueueAnswer.self)
            #expect(queue.count == 0 && queue.items.isEmpty)
            let byStatus = try await cluster.gateway.getJSON(
                "/replication-queue?status=PENDING&node_id=node-2", as: QueueAnswer.self)
            #expect(byStatus.count == 0)

            let detail = try await cluster.gateway.get("/files/\(upload.file_id)").expectingSuccess().jsonObject()
            let locations = try #require(detail["locations"] as? [[String: Any]])
            #expect(
                locations.count == 3
                    && locations.allSatisfy { $0["status"] as? String == "ACTIVE" && $0["last_verified_at"] is String })
        }
    }

    @Test("files page with limit and the next_after cursor")
    func filesPaging() async throws {
        try await withCluster(nodes: 1) { cluster in
            var keys: [String] = []
            for index in 0..<5 {
                keys.append(
                    try await cluster.gateway.uploadRaw(randomBytes(100), filename: "f\(index)").expectingSuccess().json(
                        UploadAnswer.self
                    ).file_id)
            }
            let first = try await cluster.gateway.getJSON("/files?limit=2", as: FilesAnswer.self)
            #expect(first.files.map(\.file_key) == [keys[4], keys[3]])
            let cursor = try #require(first.next_after)
            let second = try await cluster.gateway.getJSON("/files?limit=2&after=\(cursor)", as: FilesAnswer.self)
            #expect(second.files.map(\.file_key) == [keys[2], keys[1]])
            let last = try await cluster.gateway.getJSON("/files?limit=2&after=\(second.next_after!)", as: FilesAnswer.self)
            #expect(last.files.map(\.file_key) == [keys[0]])
            #expect(last.next_after == nil)
        }
    }

    @Test("q searches keys and original names, case ignored, pages with the cursor, and refuses bad text with 400")
    func filesSearch() async throws {
        try await withCluster(nodes: 1) { cluster in
            var keys: [String: String] = [:]
            for name in ["Quarterly Report.pdf", "photo.jpg", "report-draft.txt", "Über uns.html", "c++ notes.txt"] {
                keys[name] = try await cluster.gateway.uploadRaw(randomBytes(64), filename: name).expectingSuccess().json(
                    UploadAnswer.self
                ).file_id
            }
            let reports = try await cluster.gateway.getJSON("/files?q=REPORT&limit=1", as: FilesAnswer.self)
            #expect(reports.files.map(\.file_key) == [keys["report-draft.txt"]!])
            let older = try await cluster.gateway.getJSON(
                "/files?q=REPORT&limit=1&after=\(try #require(reports.next_after))", as: FilesAnswer.self)
            #expect(older.files.map(\.file_key) == [keys["Quarterly Report.pdf"]!])
            #expect(older.next_after == nil)
            // Percent-encoded, non-ASCII, case folded: "ÜBER" finds "Über uns.html".
            let umlaut = try await cluster.gateway.getJSON("/files?q=%C3%9CBER", as: FilesAnswer.self)
            #expect(umlaut.files.map(\.file_key) == [keys["Über uns.html"]!])
            let byKey = try await cluster.gateway.getJSON("/files?q=\(keys["photo.jpg"]!.uppercased())", as: FilesAnswer.self)
            #expect(byKey.files.map(\.file_key) == [keys["photo.jpg"]!])
            #expect(try await cluster.gateway.getJSON("/files?q=%20%20", as: FilesAnswer.self).count == 5)
            // Form encoding, as browsers send it: + is a space, %2B a plus.
            let spaced = try await cluster.gateway.getJSON("/files?q=quarterly+report", as: FilesAnswer.self)
            #expect(spaced.files.map(\.file_key) == [keys["Quarterly Report.pdf"]!])
            let plus = try await cluster.gateway.getJSON("/files?q=C%2B%2B", as: FilesAnswer.self)
            #expect(plus.files.map(\.file_key) == [keys["c++ notes.txt"]!])
            #expect(try await cluster.gateway.get("/files?q=%E2%28").status == 400)
            let tooLong = try await cluster.gateway.get("/files?q=\(String(repeating: "x", count: 201))")
            #expect(tooLong.status == 400)
            #expect(try tooLong.json(ErrorAnswer.self).error == "bad_request")
            #expect(try await cluster.gateway.get("/files?q=a%00b").status == 400)
        }
    }

    @Test("Range, HEAD and If-None-Match on downloads")
    func rangeHeadConditional() async throws {
        try await withCluster(nodes: 2) { cluster in
            let bytes = randomBytes(5000)
            let key = try await cluster.gateway.uploadRaw(bytes, filename: "r.bin").expectingSuccess().json(UploadAnswer.self)
                .file_id
            let partial = try await cluster.gateway.download(key, headers: [("Range", "bytes=100-199")])
            #expect(partial.status == 206)
            #expect(partial.body == Array(bytes[100...199]))
            #expect(partial.header("Content-Range") == "bytes 100-199/5000")
            let suffix = try await cluster.gateway.download(key, headers: [("Range", "bytes=-10")])
            #expect(suffix.body == Array(bytes[4990...]))
            let outside = try await cluster.gateway.download(key, headers: [("Range", "bytes=9000-")])
            #expect(outside.status == 416)
            #expect(try outside.json(ErrorAnswer.self).error == "range_not_satisfiable")

            let head = try await cluster.gateway.send(.HEAD, "/download/\(key)")
            #expect(head.status == 200)
            #expect(head.header("Content-Length") == "5000")
            #expect(head.body.isEmpty)

            let cached = try await cluster.gateway.download(key, headers: [("If-None-Match", "\"\(sha256Hex(bytes))\"")])
            #expect(cached.status == 304)
            #expect(cached.body.isEmpty)
        }
    }

    @Test("a file deleted through the gateway is gone from every node and from the listing")
    func deleteRemovesEverywhere() async throws {
        try await withCluster(nodes: 3) { cluster in
            let key = try await cluster.gateway.uploadRaw(randomBytes(2000), filename: "d.bin").expectingSuccess().json(
                UploadAnswer.self
            ).file_id
            let answer = try await cluster.gateway.delete("/files/\(key)").expectingSuccess().jsonObject()
            #expect(answer["success"] as? Bool == true)
            #expect(answer["file_key"] as? String == key)
            #expect((answer["deleted_from"] as? [String])?.sorted() == ["node-1", "node-2", "node-3"])
            #expect((answer["failed"] as? [String]) == [])
            #expect(answer["total_nodes"] as? Int == 3)
            #expect(answer["deleted_nodes"] as? Int == 3)
            for number in 1...3 {
                #expect(try await cluster.nodeClient(number).get("/blobs/\(key)").status == 404)
            }
            #expect(try await cluster.gateway.getJSON("/files", as: FilesAnswer.self).count == 0)
            #expect(try await cluster.gateway.download(key).status == 404)
            #expect(try await cluster.gateway.delete("/files/\(key)").status == 404)
        }
    }
}
