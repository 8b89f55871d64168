import Foundation
import Testing
import TestSupport

/// Latency routing through the real binaries: response headers that say how a download was routed, and a hung node
/// (SIGSTOP) that costs an upload about one --health-timeout instead of a transfer timeout.
@Suite("Routing headers and hung nodes", .serialized)
struct RoutingIntegrationTests {
    @Test("a download names its node, failovers, hedge and request id; a safe client request id is echoed")
    func downloadHeaders() async throws {
        try await withCluster(nodes: 3) { cluster in
            let bytes = randomBytes(100_000)
            let key = try await cluster.gateway.uploadRaw(bytes, filename: "h.bin").expectingSuccess().json(UploadAnswer.self)
                .file_id
            let download = try await cluster.gateway.download(key, headers: [("X-Request-Id", "trace-42_a.b:c")])
                .expectingSuccess()
            #expect(download.body == bytes)
            let servedBy = try #require(download.header("x-served-by"))
            #expect(["node-1", "node-2", "node-3"].contains(servedBy))
            #expect(download.header("x-routed-from") == servedBy)
            #expect(download.header("x-dfs-failovers") == "0")
            let hedged = try #require(download.header("x-dfs-hedged"))
            #expect(hedged == "false" || (hedged.hasPrefix("node-") && hedged != servedBy))
            #expect(download.header("x-request-id") == "trace-42_a.b:c")

            let unsafe = try await cluster.gateway.download(key, headers: [("X-Request-Id", "two words\"<x>")]).expectingSuccess()
            let replaced = try #require(unsafe.header("x-request-id"))
            #expect(replaced != "two words\"<x>" && !replaced.isEmpty)
            let plain = try await cluster.gateway.get("/health").expectingSuccess()
            #expect(plain.header("x-request-id")?.isEmpty == false)
        }
    }

    @Test("a download from a hung node (SIGSTOP) is hedged to another replica instead of waiting out --health-timeout")
    func hungNodeIsHedged() async throws {
        // Probes off and a long health timeout: only the hedge can answer quickly. A 100% budget so the first
        // download may hedge (the budget starts empty).
        try await withCluster(
            nodes: 3,
            gatewayArguments: [
                "--probe-interval", "1h", "--recovery-interval", "1h", "--health-timeout", "5s", "--hedge-after", "100ms,100ms",
                "--hedge-budget", "100%",
            ]
        ) { cluster in
            let bytes = randomBytes(300_000)
            let key = try await cluster.gateway.uploadRaw(bytes, filename: "hedge.bin").expectingSuccess().json(UploadAnswer.self)
                .file_id
            let servedBy = try #require(try await cluster.gateway.download(key).expectingSuccess().header("x-served-by"))
            let number = try #require(Int(servedBy.dropFirst("node-".count)))
            try await cluster.pauseNode(number)
            do {
                // Near-ties are spread at random, so not every download starts on the hung node: repeat so that some
                // do ((2/3)^30 odds against none), and check every one.
                var hedgesWon = 0
                for _ in 0..<30 {
                    let started = ContinuousClock.now
                    let download = try await cluster.gateway.download(key).expectingSuccess()
                    let elapsed = ContinuousClock.now - started
                    #expect(download.body == bytes)
                    #expect(download.header("x-served-by") != servedBy)
                    #expect(download.header("x-dfs-failovers") == "0")
                    // Correctness bound: well inside the 5 s first-byte timeout the hedge saves us from.
                    #expect(elapsed < .seconds(4), "took \(elapsed)")
                    // On a busy machine healthy nodes may be late too and hedge among themselves; what matters is
                    // that some download started on the hung node and was rescued by its hedge.
                    let hedgedTo = try #require(download.header("x-dfs-hedged"))
                    if hedgedTo != "false" && download.header("x-served-by") == hedgedTo { hedgesWon += 1 }
                }
                #expect(hedgesWon > 0)
            } catch {
                try? await cluster.resumeNode(number)
                throw error
            }
            try await cluster.resumeNode(number)
        }
    }

    @Test("with the best node hung (SIGSTOP) an upload goes to other primaries within about one --health-timeout")
    func uploadAvoidsHungNode() async throws {
        // Probes off: nothing but the upload's own liveness check can notice the hang.
        try await withCluster(
            nodes: 3, gatewayArguments: ["--probe-interval", "1h", "--recovery-interval", "1h", "--health-timeout", "1s"]
        ) { cluster in
            _ = try await cluster.gateway.uploadRaw(randomBytes(10_000), filename: "warm.bin").expectingSuccess()
            try await cluster.pauseNode(1)
            do {
                // The scenario is a node that hung a moment ago: let its last answer age past the gateway's 1 s
                // liveness window, as it would between two uploads. (Not a wait for a condition.)
                try await Task.sleep(for: .milliseconds(1200))
                for index in 0..<3 {
                    let bytes = randomBytes(200_000)
                    let started = ContinuousClock.now
                    let answer = try await cluster.gateway.uploadRaw(bytes, filename: "u\(index).bin").expectingSuccess().json(
                        UploadAnswer.self)
                    let elapsed = ContinuousClock.now - started
                    #expect(answer.node_id != "node-1")
                    #expect(answer.replication.failed == ["node-1"])
                    // About one --health-timeout (1 s), with generous slack for a loaded machine; never the 30 s timeout.
                    #expect(elapsed < .seconds(6), "upload \(index) took \(elapsed)")
                    #expect(try await cluster.gateway.download(answer.file_id).expectingSuccess().body == bytes)
                }
            } catch {
                try? await cluster.resumeNode(1)
                throw error
            }
            try await cluster.resumeNode(1)
        }
    }

    private struct NodeRow: Decodable {
        let id: String
        let status: String
        let ejected: Bool
    }

    @Test("GET /nodes reports a node ejected after a failed request (SIGSTOP) and routable again after a probe")
    func nodesShowEjection() async throws {
        // Probes off, so only requests judge the nodes; round-robin, so some download starts on the hung node;
        // no hedging, so that download fails over (after the 1 s first-byte timeout) instead of being rescued.
        try await withCluster(
            nodes: 3,
            gatewayArguments: [
                "--probe-interval", "1h", "--recovery-interval", "1h", "--health-timeout", "1s", "--routing", "round-robin",
                "--no-hedging",
                "--eject-after", "1",
            ]
        ) { cluster in
            let bytes = randomBytes(50_000)
            let key = try await cluster.gateway.uploadRaw(bytes, filename: "eject.bin").expectingSuccess().json(UploadAnswer.self)
                .file_id
            #expect(try await cluster.gateway.getJSON("/nodes", as: [NodeRow].self).allSatisfy { !$0.ejected })
            try await cluster.pauseNode(1)
            do {
                var failovers = 0
                for _ in 0..<6 where failovers == 0 {
                    let download = try await cluster.gateway.download(key).expectingSuccess()
                    #expect(download.body == bytes)
                    failovers = Int(download.header("x-dfs-failovers") ?? "") ?? 0
                }
                #expect(failovers == 1, "no download started on the hung node-1")
                let nodes = try await cluster.gateway.getJSON("/nodes", as: [NodeRow].self)
                #expect(nodes.first { $0.id == "node-1" }?.ejected == true)
                #expect(nodes.filter { $0.id != "node-1" }.allSatisfy { !$0.ejected })
            } catch {
                try? await cluster.resumeNode(1)
                throw error
            }
            try await cluster.resumeNode(1)
            // A probe that node-1 answers re-admits it.
            _ = try await cluster.gateway.get("/nodes/check").expectingSuccess()
            let after = try await cluster.gateway.getJSON("/nodes", as: [NodeRow].self)
            #expect(after.first { $0.id == "node-1" }.map { !$0.ejected && $0.status == "UP" } == true)
        }
    }
}
