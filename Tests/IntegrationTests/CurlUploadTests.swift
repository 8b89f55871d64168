import Foundation
import Testing
import TestSupport

/// Users curl the gateway: `curl -F` and `curl -T` send `Expect: 100-continue` for bodies over 1 MiB and stall a
/// second unless the server answers `100 Continue` first.
@Suite("Plain curl uploads", .serialized)
struct CurlUploadTests {
    @Test("curl -F and curl -T of 64 MiB get 100 Continue and succeed")
    func curlUploads() async throws {
        let folder = try makeTemporaryDirectory(prefix: "dfs-curl")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/64MiB.bin"
        let bytes = randomBytes(64 << 20)
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        try await withCluster(nodes: 3) { cluster in
            for arguments in [
                ["-F", "file=@\(path)", cluster.gatewayURL + "/upload"],
                ["-T", path, cluster.gatewayURL + "/upload?filename=64MiB.bin"],
            ] {
                let run = try await CommandRun.run("/usr/bin/curl", ["-sS", "-v", "--max-time", "60"] + arguments)
                #expect(run.succeeded, "curl failed: \(run.standardError.suffix(500))")
                #expect(run.standardError.contains("Expect: 100-continue"), "curl did not ask for 100-continue")
                #expect(run.standardError.contains("HTTP/1.1 100 Continue"), "the gateway did not answer 100 Continue")
                let answer = try JSONDecoder().decode(UploadAnswer.self, from: Data(run.standardOutput.utf8))
                #expect(answer.size_bytes == 64 << 20)
                #expect(answer.checksum_sha256 == sha256Hex(bytes))
                #expect(answer.replication.successful.count == 2)
            }
        }
    }

    @Test("a curl upload refused for its key gets 401/403 at once, without 100 Continue, and sends no body")
    func refusedBeforeTheBody() async throws {
        let folder = try makeTemporaryDirectory(prefix: "dfs-curl-refused")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/32MiB.bin"
        _ = FileManager.default.createFile(atPath: path, contents: Data(randomBytes(32 << 20)))
        let keysFile = folder + "/api-keys"
        let reader = "reader-token-for-the-curl-test-0123456789"
        let writer = "writer-token-for-the-curl-test-0123456789"
        try "read-only \(reader)\nread-write \(writer)\n".write(toFile: keysFile, atomically: true, encoding: .utf8)
        try await withCluster(nodes: 1, gatewayArguments: ["--api-keys-file", keysFile]) { cluster in
            let url = cluster.gatewayURL + "/upload?filename=32MiB.bin"
            for (headers, status) in [([String](), 401), (["-H", "Authorization: Bearer \(reader)"], 403)] {
                // --expect100-timeout 30: were the final answer to wait for a body, curl would send it after 30 s.
                let run = try await CommandRun.run(
                    "/usr/bin/curl",
                    ["-sS", "-v", "--max-time", "60", "--expect100-timeout", "30", "-w", "\n%{http_code} %{size_upload}\n"]
                        + headers + ["-T", path, url])
                let summary = run.standardOutput.split(separator: "\n").last.map(String.init) ?? ""
                #expect(
                    summary == "\(status) 0",
                    "expected \(status) with nothing uploaded: \(summary) \(run.standardError.suffix(800))")
                #expect(run.standardError.contains("Expect: 100-continue"), "curl did not ask for 100-continue")
                #expect(!run.standardError.contains("HTTP/1.1 100 Continue"), "the gateway invited a body it refuses")
                #expect(run.standardError.lowercased().contains("connection: close"), "\(run.standardError.suffix(800))")
            }
            // The same upload with the writer's key is invited and stored.
            let accepted = try await CommandRun.run(
                "/usr/bin/curl", ["-sS", "-v", "--max-time", "60", "-H", "Authorization: Bearer \(writer)", "-T", path, url])
            #expect(
                accepted.succeeded && accepted.standardError.contains("HTTP/1.1 100 Continue"),
                "\(accepted.standardError.suffix(800))")
            #expect(try JSONDecoder().decode(UploadAnswer.self, from: Data(accepted.standardOutput.utf8)).size_bytes == 32 << 20)
        }
    }
}
