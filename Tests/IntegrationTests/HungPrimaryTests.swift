import Foundation
import NIOHTTP1
import Testing
import TestSupport

/// A node that stops reading or answering (SIGSTOP) right after serving traffic costs an upload or a delete at most
/// --health-timeout + 1 s: an upload body that fits the replay buffer is sent again to the next node, a larger one
/// fails with a 503 and leaves nothing behind; a delete answers and leaves the hung node's removal queued.
@Suite("Hung upload primary and bounded delete", .serialized)
struct HungPrimaryTests {
    /// No probes and no recovery ticks, so nothing but the request itself meets the hung node; round-robin, so the
    /// next upload's primary is known: the node after the last one's, in id order.
    static let gatewayArguments = [
        "--health-timeout", "2s", "--probe-interval", "1h", "--recovery-interval", "1h", "--routing", "round-robin",
    ]
    static let nodeIDs = ["node-1", "node-2", "node-3"]

    @Test(
        "with the next primary SIGSTOPped right after serving traffic, a body within --replay-buffer is stored within 3 s by the next node",
        arguments: [8 << 10, 4 << 20])
    func keptBodyGoesToTheNextNode(size: Int) async throws {
        try await withCluster(nodes: 3, gatewayArguments: Self.gatewayArguments) { cluster in
            // Made before the hang: the upload must follow it within the gateway's one-second liveness window.
            let bytes = randomBytes(size)
            let (hung, warmKey) = try await Self.pauseNextPrimary(of: cluster)
            let answer: UploadAnswer
            do {
                let started = ContinuousClock.now
                let response = try await cluster.gateway.uploadRaw(bytes, filename: "kept.bin")
                let elapsed = ContinuousClock.now - started
                answer = try response.expectingSuccess().json(UploadAnswer.self)
                #expect(elapsed < .seconds(3), "took \(elapsed)")
                #expect(answer.node_id != hung)
                #expect(answer.replication.failed == [hung])
                #expect(answer.replication.successful.count == 1)
                // The proof that the hung node was this upload's primary: the gateway abandoned it as such.
                #expect(
                    Self.gatewayLog(cluster).contains {
                        $0.contains("primary stalled; sending the body again") && $0.contains(hung)
                    })
                let metrics = try await cluster.gateway.get("/metrics").expectingSuccess().text
                #expect(Self.counter("dfs_upload_primary_stalls_total", in: metrics) == 1)
                #expect(Self.counter("dfs_upload_replays_total", in: metrics) == 1)
                let download = try await cluster.gateway.download(answer.file_id).expectingSuccess()
                #expect(download.body.count == bytes.count)
                #expect(sha256Hex(download.body) == sha256Hex(bytes))
            } catch {
                try? await cluster.resumeNode(Self.number(of: hung))
                throw error
            }
            try await cluster.resumeNode(Self.number(of: hung))
            // The resumed node reads the abandoned attempt from its socket; whether it stores (and replicates) that
            // late copy before or after the queued removals reach the nodes, none of it stays. The file itself is
            // repaired onto the resumed node.
            for id in Self.nodeIDs {
                _ = try await cluster.gateway.send(.POST, "/nodes/\(id)/recover").expectingSuccess()
            }
            for number in 1...3 {
                try await eventually("node-\(number) holds the warm-up file and the upload, nothing else", timeout: .seconds(20))
                {
                    let inventory = try await cluster.nodeClient(number).getJSON(
                        "/inventory?limit=1000", as: InventoryAnswer.self)
                    return Set(inventory.blobs.map(\.key)) == [warmKey, answer.file_id]
                }
            }
        }
    }

    @Test(
        "with the next primary SIGSTOPped, a 64 MiB body fails with a 503 JSON within 3 s; nothing is recorded and, after SIGCONT, nothing of it stays on any node"
    )
    func largeBodyFailsFastAndLeavesNothing() async throws {
        try await withCluster(nodes: 3, gatewayArguments: Self.gatewayArguments) { cluster in
            let bytes = randomBytes(64 << 20)
            let (hung, warmKey) = try await Self.pauseNextPrimary(of: cluster)
            let started = ContinuousClock.now
            let response: TestResponse
            do {
                response = try await cluster.gateway.uploadRaw(bytes, filename: "large.bin")
            } catch {
                try? await cluster.resumeNode(Self.number(of: hung))
                throw error
            }
            let elapsed = ContinuousClock.now - started
            try await cluster.resumeNode(Self.number(of: hung))
            #expect(elapsed < .seconds(3), "took \(elapsed)")
            #expect(response.status == 503)
            let error = try response.jsonObject()
            #expect(error["error"] as? String == "primary_unavailable")
            #expect((error["message"] as? String)?.contains(hung) == true)
            #expect(
                Self.gatewayLog(cluster).contains {
                    $0.contains("primary stalled and the body was not kept") && $0.contains(hung)
                })
            let metrics = try await cluster.gateway.get("/metrics").expectingSuccess().text
            #expect(Self.counter("dfs_upload_primary_stalls_total", in: metrics) == 1)
            #expect(Self.counter("dfs_upload_replays_total", in: metrics) == 0)

            let files = try await cluster.gateway.getJSON("/files", as: FileListAnswer.self)
            #expect(files.files.map(\.file_key) == [warmKey])
            // The abandoned key's queued removals run on the node's recovery (SIGCONT made it readable again).
            for id in Self.nodeIDs {
                _ = try await cluster.gateway.send(.POST, "/nodes/\(id)/recover").expectingSuccess()
            }
            for number in 1...3 {
                try await eventually("node-\(number) holds only the warm-up file", timeout: .seconds(20)) {
                    let inventory = try await cluster.nodeClient(number).getJSON(
                        "/inventory?limit=1000", as: InventoryAnswer.self)
                    return inventory.blobs.map(\.key) == [warmKey]
                }
            }
        }
    }

    @Test(
        "with a replication target SIGSTOPped right after serving traffic, the primary drops it and the upload answers within 3 s"
    )
    func hungTargetIsDropped() async throws {
        try await withCluster(nodes: 3, gatewayArguments: Self.gatewayArguments) { cluster in
            let bytes = randomBytes(4 << 20)
            let warm = try await cluster.gateway.uploadRaw(randomBytes(10_000), filename: "warm.bin").expectingSuccess().json(
                UploadAnswer.self)
            let index = try #require(Self.nodeIDs.firstIndex(of: warm.node_id))
            let primary = Self.nodeIDs[(index + 1) % 3]
            // Round-robin names the next nodes in id order as targets: the first of them hangs.
            let hung = Self.nodeIDs[(index + 2) % 3]
            _ = try await cluster.gateway.get("/nodes/check").expectingSuccess()
            try await cluster.pauseNode(Self.number(of: hung))
            do {
                let started = ContinuousClock.now
                let response = try await cluster.gateway.uploadRaw(bytes, filename: "target.bin")
                let elapsed = ContinuousClock.now - started
                let answer = try response.expectingSuccess().json(UploadAnswer.self)
                #expect(elapsed < .seconds(3), "took \(elapsed)")
                #expect(answer.node_id == primary)
                #expect(answer.replication.failed == [hung])
                // The primary itself gave up on the target (the gateway's liveness check did not leave it out).
                let primaryLog = (cluster.logTail(of: .node(Self.number(of: primary)), lines: 200) ?? "").split(separator: "\n")
                #expect(
                    primaryLog.contains {
                        $0.contains("replication to target failed") && $0.contains(hung) && $0.contains("no progress for")
                    })
                #expect(sha256Hex(try await cluster.gateway.download(answer.file_id).expectingSuccess().body) == sha256Hex(bytes))
            } catch {
                try? await cluster.resumeNode(Self.number(of: hung))
                throw error
            }
            try await cluster.resumeNode(Self.number(of: hung))
        }
    }

    @Test(
        "DELETE with a holder SIGSTOPped answers within 3 s, a download after it is a 404 JSON, and after SIGCONT the queued delete removes that copy"
    )
    func deleteIsBounded() async throws {
        try await withCluster(nodes: 3, gatewayArguments: Self.gatewayArguments) { cluster in
            let bytes = randomBytes(100_000)
            let answer = try await cluster.gateway.uploadRaw(bytes, filename: "doomed.bin").expectingSuccess().json(
                UploadAnswer.self)
            #expect(answer.replication.failed.isEmpty)
            try await cluster.pauseNode(2)
            let started: ContinuousClock.Instant
            let deleted: TestResponse
            do {
                var probe = cluster.nodeClient(2)
                probe.timeout = .milliseconds(300)
                let stillAnswers = (try? await probe.get("/health")) != nil
                try #require(!stillAnswers, "node-2 still answers after SIGSTOP")
                started = ContinuousClock.now
                deleted = try await cluster.gateway.delete("/files/" + answer.file_id)
            } catch {
                try? await cluster.resumeNode(2)
                throw error
            }
            let elapsed = ContinuousClock.now - started
            let download = try await cluster.gateway.download(answer.file_id)
            try await cluster.resumeNode(2)

            #expect(elapsed < .seconds(3), "took \(elapsed)")
            let outcome = try deleted.expectingSuccess().json(DeleteAnswer.self)
            #expect(outcome.failed == ["node-2"])
            #expect(outcome.deleted_from == ["node-1", "node-3"])
            #expect(download.status == 404)
            #expect(try download.jsonObject()["error"] as? String == "file_not_found")

            _ = try await cluster.gateway.send(.POST, "/nodes/node-2/recover").expectingSuccess()
            try await eventually("node-2 no longer holds the deleted file", timeout: .seconds(20)) {
                try await cluster.nodeClient(2).getJSON("/inventory?limit=1000", as: InventoryAnswer.self).blobs.isEmpty
            }
        }
    }

    /// Uploads a warm-up file (every node then answered within the gateway's liveness window: no health check
    /// will catch the hang), then SIGSTOPs the node that round-robin makes the next upload's primary.
    static func pauseNextPrimary(of cluster: TestCluster) async throws -> (hung: String, warmKey: String) {
        let warm = try await cluster.gateway.uploadRaw(randomBytes(10_000), filename: "warm.bin").expectingSuccess().json(
            UploadAnswer.self)
        let index = try #require(nodeIDs.firstIndex(of: warm.node_id))
        let next = nodeIDs[(index + 1) % nodeIDs.count]
        // A live probe of every node just before the hang: the scenario is a node that stops right after serving.
        _ = try await cluster.gateway.get("/nodes/check").expectingSuccess()
        try await cluster.pauseNode(number(of: next))
        return (next, warm.file_id)
    }

    static func number(of id: String) -> Int { Int(id.dropFirst("node-".count))! }

    /// An unlabelled counter's value in a Prometheus text exposition.
    static func counter(_ name: String, in exposition: String) -> Double? {
        exposition.split(separator: "\n").first { $0.hasPrefix(name + " ") }.flatMap {
            Double($0.split(separator: " ").last ?? "")
        }
    }

    static func gatewayLog(_ cluster: TestCluster) -> [Substring] {
        (cluster.logTail(of: .gateway, lines: 400) ?? "").split(separator: "\n")
    }

    struct FileListAnswer: Decodable {
        struct File: Decodable { let file_key: String }
        let files: [File]
    }

    struct DeleteAnswer: Decodable {
        let deleted_from: [String]
        let failed: [String]
    }
}
