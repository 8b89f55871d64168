import AsyncHTTPClient
import DFSLauncher
import Foundation
import NIOCore
import Testing
import TestSupport

/// A node may refuse an upload before it has read the body (a full disk). The gateway's HTTP client can then
/// still be pulling the client's body when the gateway answers; once two tasks read one request body the
/// gateway process died (SIGILL in NIO's stream, found by schemathesis). It must answer the JSON error
/// and keep serving.
@Suite("A node that refuses an upload early", .serialized)
struct EarlyNodeRefusalTests {
    @Test("uploads refused by a full primary get 507 insufficient_storage and the gateway keeps serving")
    func refusedUploadsLeaveTheGatewayRunning() async throws {
        let ports = LoopbackPort.free(count: 3)
        let refusing = try await RefusingNode(nodeID: "node-1", port: ports[2])
        defer { refusing.stop() }
        let workDirectory = try makeTemporaryDirectory(prefix: "dfs-refusal")
        var configuration = LocalClusterConfiguration(
            gatewayPort: ports[0], nodePorts: [ports[1]], dataDirectory: workDirectory + "/data",
            // The refusing stand-in runs in this test process, which the whole suite starves of CPU: with a 1 s health
            // timeout its late 507 could be judged a hung primary (503), which is not what this test is about.
            gatewayArguments: ["--replicas", "1", "--probe-interval", "500ms", "--health-timeout", "3s"],
            nodesRegisterWithGateway: false, logDirectory: workDirectory + "/logs")
        // The gateway's node-1 is the refusing stand-in; the real node-1 runs but is never used.
        configuration.nodeURLOverrides = [1: "http://127.0.0.1:\(ports[2])"]
        let cluster = try LocalCluster(configuration)
        do {
            try await cluster.start()
            let gateway = HTTPTestClient(baseURL: cluster.gatewayURL)
            let body = [UInt8](repeating: 0x5A, count: 8 << 20)
            for attempt in 0..<6 {
                let response =
                    attempt.isMultiple(of: 2)
                    ? try await gateway.uploadRaw(body, filename: "big.bin")
                    : try await gateway.uploadMultipart(body, filename: "big.bin")
                #expect(response.status == 507, "\(response)")
                #expect(try response.jsonObject()["error"] as? String == "insufficient_storage")
            }
            // A client that pauses mid-body: the gateway's pull for the next chunk is still waiting when the node
            // has already refused, which is when two readers met.
            for _ in 0..<3 {
                let response = try await Self.uploadWithPause(to: cluster.gatewayURL)
                #expect(response.status == 507, "\(response)")
            }
            let health = try await gateway.get("/health")
            #expect(health.status == 200)
            await cluster.shutdown()
            try? FileManager.default.removeItem(atPath: workDirectory)
        } catch {
            await cluster.shutdown()
            FileHandle.standardError.write(Data("kept \(workDirectory) (logs/gateway.log) for inspection\n".utf8))
            throw error
        }
    }

    /// A raw upload sent as two chunks with a pause between them.
    static func uploadWithPause(to gatewayURL: String) async throws -> (status: Int, text: String) {
        let (chunks, continuation) = AsyncStream.makeStream(of: ByteBuffer.self)
        let producer = Task {
            continuation.yield(ByteBuffer(repeating: 0x41, count: 64 << 10))
            try? await Task.sleep(for: .milliseconds(700))
            continuation.yield(ByteBuffer(repeating: 0x42, count: 64 << 10))
            continuation.finish()
        }
        defer { producer.cancel() }
        var request = HTTPClientRequest(url: gatewayURL + "/upload?filename=paused.bin")
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/octet-stream")
        request.body = .stream(chunks, length: .unknown)
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 1 << 20)
        return (Int(response.status.code), String(buffer: body))
    }
}
