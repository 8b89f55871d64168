import AsyncHTTPClient
import DFSCore
import Foundation
import NIOCore
import Testing
import TestSupport

/// A source that dies in the middle of a download is replaced by another replica at the byte reached;
/// the client gets one complete, correct response.
@Suite("Mid-stream failover", .serialized)
struct MidStreamFailoverTests {
    @Test("killing the serving node in the middle of a 64 MiB download still delivers every byte intact")
    func sourceKilledMidTransfer() async throws {
        try await withCluster(nodes: 3) { cluster in
            let bytes = randomBytes(64 << 20)
            let key = try await cluster.gateway.uploadRaw(bytes, filename: "big.bin").expectingSuccess().json(UploadAnswer.self)
                .file_id

            let response = try await HTTPClient.shared.execute(
                HTTPClientRequest(url: cluster.gatewayURL + "/download/" + key), timeout: .minutes(2))
            #expect(response.status == .ok)
            let servedBy = try #require(response.headers.first(name: "x-routed-from"))
            let number = try #require(Int(servedBy.dropFirst("node-".count)))
            var hasher = StreamingSHA256()
            var killed = false
            for try await chunk in response.body {
                hasher.update(chunk)
                // Read slowly at first so most of the file is still on the source when it dies.
                if !killed && hasher.byteCount >= 1 << 20 {
                    await cluster.killNode(number)
                    killed = true
                }
            }
            #expect(killed)
            #expect(hasher.byteCount == Int64(bytes.count))
            #expect(hasher.finalize().hex == sha256Hex(bytes))
            #expect(cluster.logTail(of: .gateway, lines: 200)?.contains("download resumed") == true)
            let metrics = try await cluster.gateway.get("/metrics").expectingSuccess().text
            #expect(
                metrics.split(separator: "\n").contains { $0.hasPrefix("dfs_download_failovers_total ") && !$0.hasSuffix(" 0") })
        }
    }

    @Test(
        "pausing the serving node (SIGSTOP) in the middle of a 64 MiB download: the stall timeout moves it to another replica, every byte intact"
    )
    func sourcePausedMidTransfer() async throws {
        try await withCluster(nodes: 3, gatewayArguments: ["--stall-timeout", "1s", "--recovery-interval", "1h"]) { cluster in
            let bytes = randomBytes(64 << 20)
            let key = try await cluster.gateway.uploadRaw(bytes, filename: "big.bin").expectingSuccess().json(UploadAnswer.self)
                .file_id

            let started = ContinuousClock.now
            let response = try await HTTPClient.shared.execute(
                HTTPClientRequest(url: cluster.gatewayURL + "/download/" + key), timeout: .minutes(2))
            #expect(response.status == .ok)
            let servedBy = try #require(response.headers.first(name: "x-served-by"))
            let number = try #require(Int(servedBy.dropFirst("node-".count)))
            var hasher = StreamingSHA256()
            var paused = false
            do {
                for try await chunk in response.body {
                    hasher.update(chunk)
                    if !paused && hasher.byteCount >= 1 << 20 {
                        try await cluster.pauseNode(number)
                        paused = true
                    }
                }
            } catch {
                if paused { try? await cluster.resumeNode(number) }
                throw error
            }
            if paused { try await cluster.resumeNode(number) }
            #expect(paused)
            #expect(hasher.byteCount == Int64(bytes.count))
            #expect(hasher.finalize().hex == sha256Hex(bytes))
            // Generous correctness bound: a stall costs about --stall-timeout, never the 30 s node timeout.
            #expect(ContinuousClock.now - started < .seconds(25))
            let log = cluster.logTail(of: .gateway, lines: 300) ?? ""
            #expect(log.contains("download resumed"))
            #expect(log.contains("no byte for"))
        }
    }

    @Test("a hung node (SIGSTOP) is skipped after the first-byte timeout and the download succeeds from another replica")
    func hungNodeIsSkipped() async throws {
        // Probes off: only the first-byte timeout can save these requests from the hung node.
        try await withCluster(nodes: 3, gatewayArguments: ["--probe-interval", "1h", "--recovery-interval", "1h"]) { cluster in
            let bytes = randomBytes(500_000)
            let key = try await cluster.gateway.uploadRaw(bytes, filename: "h.bin").expectingSuccess().json(UploadAnswer.self)
                .file_id
            let servedBy = try #require(try await cluster.gateway.download(key).expectingSuccess().header("X-Routed-From"))
            let number = try #require(Int(servedBy.dropFirst("node-".count)))
            try await cluster.pauseNode(number)
            defer { Task { try? await cluster.resumeNode(number) } }
            for _ in 0..<3 {
                let download = try await cluster.gateway.download(key).expectingSuccess()
                #expect(download.body == bytes)
                #expect(download.header("X-Routed-From") != servedBy)
            }
            try await cluster.resumeNode(number)
        }
    }
}
