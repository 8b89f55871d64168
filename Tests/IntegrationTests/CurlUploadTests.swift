import Foundation
import Testing
import TestSupport

/// Users curl the gateway: `curl -F` and `curl -T` send `Expect: 100-continue` for bodies over 1 MiB and stall a
/// second unless the server answers `100 Continue` first (STACK.md).
@Suite("Plain curl uploads", .serialized)
struct CurlUploadTests {
    @Test("curl -F and curl -T of 64 MiB get 100 Continue and succeed")
    func curlUploads() async throws {
        let folder = try makeTemporaryDirectory(prefix: "dfs-curl")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/64MiB.bin"
        let bytes = randomBytes(64 << 20)
        FileManager.default.createFile(atPath: path, contents: Data(bytes))
        try await withCluster(nodes: 3) { cluster in
            for arguments in [["-F", "file=@\(path)", cluster.gatewayURL + "/upload"], ["-T", path, cluster.gatewayURL + "/upload?filename=64MiB.bin"]] {
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
}
