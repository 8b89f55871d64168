import Foundation
import Testing
import TestSupport

/// Issue 5 through the real binaries: response headers that say how a download was routed, and a hung node
/// (SIGSTOP) that costs an upload about one --health-timeout instead of a transfer timeout.
@Suite("Routing headers and hung nodes", .serialized)
struct RoutingIntegrationTests {
    @Test("a download names its node, failovers, hedge and request id; a safe client request id is echoed")
    func downloadHeaders() async throws {
        try await withCluster(nodes: 3) { cluster in
            let bytes = randomBytes(100_000)
            let key = try await cluster.gateway.uploadRaw(bytes, filename: "h.bin").expectingSuccess().json(UploadAnswer.self).file_id
            let download = try await cluster.gateway.download(key, headers: [("X-Request-Id", "trace-42_a.b:c")]).expectingSuccess()
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

    @Test("with the best node hung (SIGSTOP) an upload goes to other primaries within about one --health-timeout")
    func uploadAvoidsHungNode() async throws {
        // Probes off: nothing but the upload's own liveness check can notice the hang.
        try await withCluster(nodes: 3, gatewayArguments: ["--probe-interval", "1h", "--recovery-interval", "1h", "--health-timeout", "1s"]) { cluster in
            _ = try await cluster.gateway.uploadRaw(randomBytes(10_000), filename: "warm.bin").expectingSuccess()
            try await cluster.pauseNode(1)
            do {
                // The scenario is a node that hung a moment ago: let its last answer age past the gateway's 1 s
                // liveness window, as it would between two uploads. (Not a wait for a condition.)
                try await Task.sleep(for: .milliseconds(1200))
                for index in 0..<3 {
                    let bytes = randomBytes(200_000)
                    let started = ContinuousClock.now
                    let answer = try await cluster.gateway.uploadRaw(bytes, filename: "u\(index).bin").expectingSuccess().json(UploadAnswer.self)
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
}
