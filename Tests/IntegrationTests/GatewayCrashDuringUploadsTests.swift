import Foundation
import Testing
import TestSupport

/// Restarting any process loses nothing acknowledged: the gateway is killed with SIGKILL while
/// uploads stream through it; after a restart every acknowledged file is listed and downloads intact, and no
/// half-recorded file appears (every listed file has a verified copy and the right bytes).
@Suite("Gateway kill -9 during uploads", .serialized)
struct GatewayCrashDuringUploadsTests {
    @Test("acknowledged uploads survive a gateway kill -9; nothing half-recorded is listed")
    func uploadsSurviveGatewayKill() async throws {
        try await withCluster(nodes: 3, gatewayArguments: ["--probe-interval", "300ms"]) { cluster in
            let gateway = cluster.gateway
            let acknowledged = AcknowledgedUploads()
            let uploader = Task {
                for index in 0..<1_000 {
                    if Task.isCancelled { return }
                    let bytes = randomBytes(200_000 + index)
                    // Requests in flight when the gateway dies fail: that is fine, they were never acknowledged.
                    guard let response = try? await gateway.uploadRaw(bytes, filename: "k\(index).bin"), response.status == 200,
                        let answer = try? response.json(UploadAnswer.self)
                    else { continue }
                    acknowledged.add(answer.file_id, sha256Hex(bytes))
                }
            }
            try await eventually("some uploads are acknowledged", timeout: .seconds(30), interval: .milliseconds(20)) {
                acknowledged.count >= 5
            }
            _ = await cluster.local.stop(.gateway, immediately: true)
            uploader.cancel()
            _ = await uploader.value
            try await cluster.local.start(.gateway)

            let listed = try await gateway.getJSON("/files?limit=1000", as: FilesAnswer.self).files
            let listedKeys = Set(listed.map(\.file_key))
            for (key, _) in acknowledged.all {
                #expect(listedKeys.contains(key), "acknowledged \(key) is missing after the restart")
            }
            for file in listed {
                #expect(!file.replicas.isEmpty, "\(file.file_key) is listed without a verified copy")
                let download = try await gateway.download(file.file_key).expectingSuccess()
                #expect(sha256Hex(download.body) == file.checksum_sha256, "\(file.file_key) does not download intact")
                if let expected = acknowledged.all[file.file_key] { #expect(file.checksum_sha256 == expected) }
            }
        }
    }
}

/// The uploads the gateway answered 200, recorded from the uploading task and read by the test.
final class AcknowledgedUploads: @unchecked Sendable {
    // @unchecked: every access holds `lock`.
    private let lock = NSLock()
    private var digests: [String: String] = [:]

    func add(_ key: String, _ digest: String) { lock.withLock { digests[key] = digest } }
    var count: Int { lock.withLock { digests.count } }
    var all: [String: String] { lock.withLock { digests } }
}
