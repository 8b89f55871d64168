import DFSClient
import DFSLauncher
import DFSCore
import Foundation
import HummingbirdTesting
import Logging
import NIOCore
import Synchronization
import Testing

@testable import StorageNode

/// Replication targets with scripted behaviour; records how each target's stream ended.
final class ScriptedTargets: NodeClient {
    enum Behaviour: Sendable {
        case store
        case failAfterChunks(Int)
        /// Never reads the body (a hung node); ends only when cancelled.
        case stall
        case refuse
    }

    let behaviours: [String: Behaviour]
    let endings = Mutex<[String: String]>([:])

    init(_ behaviours: [String: Behaviour]) { self.behaviours = behaviours }

    func putBlob(
        _ key: FileKey, on node: NodeEndpoint, body: AnyByteStream, length: Int64?,
        replicateTo targets: [NodeEndpoint], expectedDigest: SHA256Digest?, expectedBlockRoot: SHA256Digest?
    ) async throws -> BlobPutResult {
        let id = node.id.rawValue
        switch behaviours[id] ?? .refuse {
        case .refuse:
            endings.withLock { $0[id] = "refused" }
            throw NodeRequestError.unreachable(node.id, reason: "connection refused")
        case .stall:
            do {
                try await Task.sleep(for: .seconds(3600))
            } catch {
                endings.withLock { $0[id] = "cancelled" }
                throw error
            }
            throw NodeRequestError.rejected(node.id, status: 500, message: "woke up")
        case .store, .failAfterChunks:
            var hasher = BlobHasher()
            var chunks = 0
            do {
                for try await chunk in body {
                    hasher.update(chunk)
                    chunks += 1
                    if case .failAfterChunks(let limit) = behaviours[id], chunks == limit {
                        endings.withLock { $0[id] = "failed" }
                        throw NodeRequestError.rejected(node.id, status: 500, message: "disk on fire")
                    }
                }
            } catch let error as NodeRequestError {
                throw error
            } catch {
                endings.withLock { $0[id] = "stream error: \(error)" }
                throw error
            }
            endings.withLock { $0[id] = "complete" }
            let digests = hasher.finalize()
            return BlobPutResult(
                nodeID: id, key: key.rawValue, sizeBytes: hasher.byteCount, checksumSHA256: digests.whole.hex,
                blockRoot: digests.blocks.root.hex,
                replicas: [])
        }
    }

    func health(of node: NodeEndpoint, timeout: Duration) async throws -> NodeHealth { throw TestBodyFailure() }
    func getBlob(
        _ key: FileKey, from node: NodeEndpoint, range: ByteRange?, expecting expectation: BlobExpectation?
    ) async throws -> BlobReadStream {
        throw TestBodyFailure()
    }
    func damagedBlocks(of key: FileKey, on node: NodeEndpoint, timeout: Duration) async throws -> [Int] {
        throw TestBodyFailure()
    }
    func verifyBlob(
        _ key: FileKey, on node: NodeEndpoint, expecting expectation: BlobExpectation?
    ) async throws -> BlobVerification {
        throw TestBodyFailure()
    }
    func deleteBlob(_ key: FileKey, on node: NodeEndpoint) async throws -> Bool { throw TestBodyFailure() }
    func retireBlob(_ key: FileKey, on node: NodeEndpoint) async throws -> Bool { throw TestBodyFailure() }
    func inventory(of node: NodeEndpoint, after: String?, limit: Int) async throws -> InventoryPage { throw TestBodyFailure() }
}

func endpoint(_ id: String) throws -> NodeEndpoint {
    NodeEndpoint(id: try NodeID(validating: id), baseURL: "http://127.0.0.1:1")
}

func withCoordinator<T>(
    _ targets: ScriptedTargets,
    idleTimeout: Duration = .seconds(5),
    _ body: (PutCoordinator, BlobStore, String) async throws -> T
) async throws -> T {
    try await withTemporaryDirectory { root in
        let store = try await openStore(at: root)
        let coordinator = PutCoordinator(
            nodeID: try NodeID(validating: "node-1"),
            store: store,
            replicator: ReplicaStreamer(client: targets, idleTimeout: idleTimeout)
        )
        return try await body(coordinator, store, root)
    }
}

@Suite("Replication fan-out")
struct ReplicationTests {
    let logger = Logger(label: "test.replication")

    @Test("a put fans out to a live second node while a refused target is reported, not fatal")
    func liveFanOut() async throws {
        let data = testBytes(3_000_000)
        let down = try #require(LoopbackPort.free(count: 1).first)
        try await withTemporaryDirectory { targetRoot in
            try await withLiveNode(id: "node-2", data: targetRoot) { target, targetEndpoint in
                try await withRoutedNode { client, primary, _ in
                    let response = try await client.execute(
                        uri: "/blobs/fan", method: .put,
                        headers: [
                            .dfsReplicateTo: "node-2=\(targetEndpoint.baseURL),node-3=http://127.0.0.1:\(down)",
                            .dfsExpectedDigest: sha256(data).hex,
                        ],
                        body: ByteBuffer(bytes: data)
                    )
                    #expect(response.status == .ok)
                    let result = try decode(BlobPutResult.self, response.body)
                    #expect(result.checksumSHA256 == sha256(data).hex)
                    #expect(result.sizeBytes == 3_000_000)
                    #expect(result.replicas.map(\.nodeID) == ["node-2", "node-3"])
                    #expect(
                        result.replicas[0]
                            == ReplicaOutcome(
                                nodeID: "node-2", stored: true, checksumSHA256: sha256(data).hex, sizeBytes: 3_000_000,
                                blockRoot: blockRoot(data), error: nil))
                    #expect(result.replicas[1].stored == false)
                    #expect(result.replicas[1].error?.contains("node-3: unreachable") == true)
                    #expect(try await readAll(primary.store, try FileKey(validating: "fan")) == data)
                }
                let key = try FileKey(validating: "fan")
                #expect(try await readAll(target.store, key) == data)
                #expect(try await target.store.metadata(of: key).digest == sha256(data))
            }
        }
    }

    @Test("chunks stream to a real node through the HTTP client, in many chunks")
    func liveChunkedFanOut() async throws {
        let data = testBytes(5_000_000, seed: 11)
        try await withTemporaryDirectory { targetRoot in
            try await withLiveNode(id: "node-2", data: targetRoot) { target, targetEndpoint in
                try await withRoutedNode { _, primary, _ in
                    let coordinator = PutCoordinator(
                        nodeID: primary.configuration.nodeID,
                        store: primary.store,
                        replicator: ReplicaStreamer(
                            client: HTTPNodeClient(httpClient: primary.httpClient), idleTimeout: .seconds(5))
                    )
                    let key = try FileKey(validating: "chunked")
                    let result = try await coordinator.put(
                        key, body: chunkedBody(data, chunkSize: 50_000), length: Int64(data.count),
                        expectedDigest: nil, targets: [targetEndpoint], logger: logger
                    )
                    #expect(
                        result.replicas == [
                            ReplicaOutcome(
                                nodeID: "node-2", stored: true, checksumSHA256: sha256(data).hex, sizeBytes: 5_000_000,
                                blockRoot: blockRoot(data), error: nil)
                        ])
                    #expect(try await readAll(target.store, key) == data)
                }
            }
        }
    }

    @Test("a target failing midway or refusing is skipped; the others and the primary still store")
    func failingTargetsSkipped() async throws {
        let data = testBytes(1_000_000)
        let targets = ScriptedTargets(["node-2": .store, "node-3": .failAfterChunks(3), "node-4": .refuse])
        try await withCoordinator(targets) { coordinator, store, _ in
            let key = try FileKey(validating: "skip")
            let result = try await coordinator.put(
                key, body: chunkedBody(data, chunkSize: 10_000), length: nil, expectedDigest: nil,
                targets: [try endpoint("node-2"), try endpoint("node-3"), try endpoint("node-4")], logger: logger
            )
            #expect(result.checksumSHA256 == sha256(data).hex)
            #expect(result.replicas.map(\.stored) == [true, false, false])
            #expect(result.replicas[0].checksumSHA256 == sha256(data).hex)
            #expect(result.replicas[1].error?.contains("disk on fire") == true)
            #expect(result.replicas[2].error?.contains("connection refused") == true)
            #expect(try await readAll(store, key) == data)
        }
    }

    @Test("a target that stops reading is abandoned after the idle timeout and the put completes")
    func stalledTargetTimesOut() async throws {
        let data = testBytes(2_000_000)
        let targets = ScriptedTargets(["node-2": .stall, "node-3": .store])
        try await withCoordinator(targets, idleTimeout: .milliseconds(300)) { coordinator, store, _ in
            let result = try await coordinator.put(
                try FileKey(validating: "stall"), body: chunkedBody(data, chunkSize: 10_000), length: nil,
                expectedDigest: nil, targets: [try endpoint("node-2"), try endpoint("node-3")], logger: logger
            )
            #expect(result.replicas[0].stored == false)
            #expect(result.replicas[0].error?.contains("no progress") == true)
            #expect(result.replicas[1].stored == true)
            #expect(targets.endings.withLock { $0["node-2"] } == "cancelled")
        }
    }

    @Test("a slow uploader does not count as idle time against a healthy target")
    func slowUploaderIsNotATimeout() async throws {
        let targets = ScriptedTargets(["node-2": .store])
        try await withCoordinator(targets, idleTimeout: .milliseconds(100)) { coordinator, _, _ in
            let body = AsyncThrowingStream<ByteBuffer, any Error> { continuation in
                let task = Task {
                    for index in 0..<4 {
                        try await Task.sleep(for: .milliseconds(250))
                        continuation.yield(ByteBuffer(bytes: [UInt8(index)]))
                    }
                    continuation.finish()
                }
                continuation.onTermination = { _ in task.cancel() }
            }
            let result = try await coordinator.put(
                try FileKey(validating: "slow"), body: body, length: nil, expectedDigest: nil,
                targets: [try endpoint("node-2")], logger: logger
            )
            #expect(result.replicas.map(\.stored) == [true])
            #expect(result.replicas[0].checksumSHA256 == sha256([0, 1, 2, 3]).hex)
        }
    }

    @Test("an upload body that fails midway fails the put, ends every target's stream and keeps nothing")
    func failedBodyEndsTargets() async throws {
        let targets = ScriptedTargets(["node-2": .store, "node-3": .store])
        try await withCoordinator(targets) { coordinator, _, root in
            await #expect(throws: BlobStoreError.self) {
                try await coordinator.put(
                    try FileKey(validating: "broken"), body: chunkedBody(testBytes(500_000), chunkSize: 10_000, failAfter: 5),
                    length: nil, expectedDigest: nil, targets: [try endpoint("node-2"), try endpoint("node-3")], logger: logger
                )
            }
            let endings = targets.endings.withLock { $0 }
            #expect(endings["node-2"]?.hasPrefix("stream error") == true)
            #expect(endings["node-3"]?.hasPrefix("stream error") == true)
            #expect(filesBelow(root).isEmpty)
        }
    }

    @Test("when the primary cannot write, the put answers its error and the targets' streams are ended")
    func primaryFailureEndsTargets() async throws {
        let targets = ScriptedTargets(["node-2": .store])
        try await withCoordinator(targets) { coordinator, _, _ in
            let key = try FileKey(validating: "x.sha256")  // refused by the store itself
            await #expect(throws: BlobStoreError.reservedKey(key)) {
                try await coordinator.put(
                    key, body: chunkedBody(testBytes(1_000_000), chunkSize: 10_000), length: nil, expectedDigest: nil,
                    targets: [try endpoint("node-2")], logger: logger
                )
            }
            #expect(targets.endings.withLock { $0["node-2"] }?.contains("primary write failed") == true)
        }
    }

    @Test("the primary never replicates to itself or twice to one node")
    func targetsDeduplicated() throws {
        let requested = [try endpoint("node-2"), try endpoint("node-1"), try endpoint("node-2"), try endpoint("node-3")]
        let targets = PutCoordinator.replicationTargets(from: requested, excluding: try NodeID(validating: "node-1"))
        #expect(targets.map(\.id.rawValue) == ["node-2", "node-3"])
    }
}
