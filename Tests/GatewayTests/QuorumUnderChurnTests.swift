import DFSClient
import DFSCore
import DFSMetadata
import Foundation
import Logging
import NIOCore
import Testing
import TestSupport

@testable import Gateway

/// `--write-quorum 2` while one node has just died (routing still ranks it) and another has just come back (routing
/// still leaves it out): the upload reaches its quorum with the node that answers again instead of failing.
@Suite("Write quorum under churn")
struct QuorumUnderChurnTests {
    let logger = Logger(label: "test")
    let bytes = (0..<10_000).map { UInt8($0 % 251) }

    /// node-1 fastest, node-2 next (and dead in `nodes` when the test says so), node-3 DOWN in routing.
    func withGateway(
        replay: ReplayPolicy, _ body: (UploadCoordinator, FakeNodeCluster, any MetadataStore) async throws -> Void
    ) async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("dfs-quorum-\(UUID().uuidString).sqlite").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let store = try await SQLiteMetadataStore.open(path: path, logger: logger)
        let scoreboard = LatencyScoreboard(halfLife: .seconds(5))
        for (index, latency) in [1, 50, 60].enumerated() {
            let id = try NodeID(validating: "node-\(index + 1)")
            await scoreboard.register(
                NodeEndpoint(id: id, baseURL: "http://fake-\(index + 1)"), role: .defaultRole(forIndex: index), isUp: true)
            await scoreboard.probed(id, isUp: index < 2, latency: index < 2 ? .milliseconds(latency) : nil)
        }
        let nodes = FakeNodeCluster()
        var uploads = UploadCoordinator(store: store, nodes: nodes, scoreboard: scoreboard, replicationFactor: 3, writeQuorum: 2)
        uploads.livenessWindow = .seconds(3600)
        uploads.livenessTimeout = .milliseconds(500)
        uploads.replay = replay
        do {
            try await body(uploads, nodes, store)
        } catch {
            try? await store.close()
            throw error
        }
        try await store.close()
    }

    func upload(with uploads: UploadCoordinator) async throws -> UploadOutcome {
        let reader = UploadBodyReader(
            body: AnyByteStream(chunks: [ByteBuffer(bytes: bytes)]), format: .raw, maxSize: 1 << 30, filename: "f.bin")
        return try await uploads.store(
            reader, as: UploadDescriptor(filename: "f.bin", expectedDigest: nil, length: Int64(bytes.count)), logger: logger)
    }

    @Test("a dead target leaves the first replica set one copy short: the kept body goes to a set with the node back")
    func quorumReachedWithTheReturningNode() async throws {
        try await withGateway(replay: ReplayPolicy(bufferLimit: 64 << 10, budget: ReplayBudget(bytes: 1 << 20))) {
            uploads, nodes, store in
            nodes.set("node-2", .down)
            let outcome = try await upload(with: uploads)
            let verified = outcome.replicas.filter(\.isVerified).map(\.nodeID.rawValue).sorted()
            #expect(verified == ["node-1", "node-3"])
            #expect(outcome.failedOn.map(\.rawValue) == ["node-2"], "node-2's copy is queued")
            let entry = try await store.file(outcome.file.key)
            let recorded = try #require(entry)
            #expect(recorded.verifiedReplicas.map(\.rawValue).sorted() == ["node-1", "node-3"])
            #expect(nodes.blob(outcome.file.key.rawValue, on: "node-3") == bytes)
        }
    }

    @Test("with no node to take its place the upload still fails with the quorum error, and nothing is recorded")
    func quorumMissedWhenNothingAnswers() async throws {
        try await withGateway(replay: ReplayPolicy(bufferLimit: 64 << 10, budget: ReplayBudget(bytes: 1 << 20))) {
            uploads, nodes, store in
            nodes.set("node-2", .down)
            nodes.set("node-3", .down)
            await #expect(throws: UploadError.self) { _ = try await upload(with: uploads) }
            let listed = try await store.listFiles(limit: 10, before: nil)
            #expect(listed.isEmpty)
        }
    }
}
