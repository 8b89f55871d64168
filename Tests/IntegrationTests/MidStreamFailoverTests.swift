import AsyncHTTPClient
import DFSCore
import Foundation
import NIOCore
import Testing
import TestSupport

/// SPEC §4: a source that dies in the middle of a download is replaced by another replica at the byte reached;
/// the client gets one complete, correct response.
@Suite("Mid-stream failover", .serialized)
struct MidStreamFailoverTests {
    @Test("killing the serving node in the middle of a 64 MiB download still delivers every byte intact")
    func sourceKilledMidTransfer() async throws {
        try await withCluster(nodes: 3) { cluster in
            let bytes = randomBytes(64 << 20)
            let key = try await cluster.gateway.uploadRaw(bytes, filename: "big.bin").expectingSuccess().json(UploadAnswer.self).file_id

            let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: cluster.gatewayURL + "/download/" + key), timeout: .minutes(2))
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
        }
    }
}
