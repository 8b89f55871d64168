import DFSClient
import DFSCore
import DFSMetadata
import Foundation
import Logging
import NIOCore
import Testing
import TestSupport

@testable import Gateway

/// A primary that stops reading or answering, against in-memory nodes: the kept body goes to the next node, a body
/// that was not kept fails at once, and every node the abandoned attempt reached gets a queued removal.
@Suite("Hung upload primary")
struct HungPrimaryUploadTests {
    let logger = Logger(label: "test")
    let bytes = (0..<10_000).map { UInt8($0 % 251) }

    /// node-1 clearly the fastest (so the primary), every node heard from just now (so no liveness check runs).
    func withGateway(
        replay: ReplayPolicy, _ body: (UploadCoordinator, FakeNodeCluster, any MetadataStore) async throws -> Void
    ) async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("dfs-hung-\(UUID().uuidString).sqlite").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let store = try await SQLiteMetadataStore.open(path: path, logger: logger)
        let scoreboard = LatencyScoreboard(halfLife: .seconds(5))
        for (index, latency) in [1, 50, 60].enumerated() {
            let id = try NodeID(validating: "node-\(index + 1)")
            await scoreboard.register(
                NodeEndpoint(id: id, baseURL: "http://fake-\(index + 1)"), role: .defaultRole(forIndex: index), isUp: true)
            await scoreboard.probed(id, isUp: true, latency: .milliseconds(latency))
        }
        let nodes = FakeNodeCluster()
        var uploads = UploadCoordinator(store: store, nodes: nodes, scoreboard: scoreboard, replicationFactor: 3, writeQuorum: 1)
        uploads.livenessWindow = .seconds(3600)
        uploads.stallLimit = .milliseconds(300)
        uploads.replay = replay
        do {
            try await body(uploads, nodes, store)
        } catch {
            try? await store.close()
            throw error
        }
        try await store.close()
    }

    func upload(_ bytes: [UInt8], with uploads: UploadCoordinator) async throws -> UploadOutcome {
        let chunks = stride(from: 0, to: bytes.count, by: 1000).map { ByteBuffer(bytes: bytes[$0..<min($0 + 1000, bytes.count)]) }
        let reader = UploadBodyReader(body: AnyByteStream(chunks: chunks), format: .raw, maxSize: 1 << 30, filename: "f.bin")
        return try await uploads.store(
            reader, as: UploadDescriptor(filename: "f.bin", expectedDigest: nil, length: Int64(bytes.count)), logger: logger)
    }

    @Test("a primary that stops reading mid-body: the kept body is stored by the next node, the stalled one is queued for repair")
    func keptBodyIsReplayed() async throws {
        let budget = ReplayBudget(bytes: 1 << 20)
        try await withGateway(replay: ReplayPolicy(bufferLimit: 64 << 10, budget: budget)) { uploads, nodes, store in
            nodes.set("node-1", .hungAfterReading(bytes: 3000))
            let started = ContinuousClock.now
            let outcome = try await upload(bytes, with: uploads)
            // Not the node's hour-long hang: the stall limit (300 ms) ended the first attempt.
            #expect(ContinuousClock.now - started < .seconds(60))
            #expect(outcome.primary.rawValue == "node-2")
            #expect(outcome.failedOn.map(\.rawValue) == ["node-1"])
            #expect(nodes.blob(outcome.file.key.rawValue, on: "node-2") == bytes)
            #expect(nodes.blob(outcome.file.key.rawValue, on: "node-3") == bytes)
            #expect(try await store.file(outcome.file.key) != nil)
            let items = try await store.queueItems(QueueFilter())
            // The file's own repair on the stalled node, and the abandoned attempt's key removed from all it reached.
            #expect(items.filter { $0.kind == .replicate }.map(\.targetNodeID.rawValue) == ["node-1"])
            let removals = items.filter { $0.kind == .delete }
            #expect(Set(removals.map(\.targetNodeID.rawValue)) == ["node-1", "node-2", "node-3"])
            #expect(Set(removals.map(\.fileKey)).count == 1 && removals.allSatisfy { $0.fileKey != outcome.file.key })
            #expect(budget.availableBytes == 1 << 20)
        }
    }

    @Test("a primary that never reads: even without a replay buffer the body goes to the next node")
    func unreadBodyNeedsNoBuffer() async throws {
        try await withGateway(replay: .disabled) { uploads, nodes, _ in
            nodes.set("node-1", .hung)
            let outcome = try await upload(bytes, with: uploads)
            #expect(outcome.primary.rawValue == "node-2")
            #expect(outcome.failedOn.map(\.rawValue) == ["node-1"])
        }
    }

    @Test(
        "a body larger than the replay buffer fails with primaryStalled once the primary stalls, and nothing is recorded",
        arguments: [
            ReplayPolicy(bufferLimit: 4096, budget: ReplayBudget(bytes: 1 << 20)),
            // Within the limit, but the shared budget is used up by other uploads.
            ReplayPolicy(bufferLimit: 64 << 10, budget: ReplayBudget(bytes: 2000)),
        ])
    func bodyNotKeptFails(policy: ReplayPolicy) async throws {
        let budgetBefore = policy.budget.availableBytes
        try await withGateway(replay: policy) { uploads, nodes, store in
            nodes.set("node-1", .hungAfterReading(bytes: 6000))
            let started = ContinuousClock.now
            await #expect {
                _ = try await upload(bytes, with: uploads)
            } throws: { error in
                guard case UploadError.primaryStalled(let attempts) = error else { return false }
                return attempts.count == 1 && attempts[0].hasPrefix("node-1")
            }
            #expect(ContinuousClock.now - started < .seconds(60))
            #expect(try await store.listFiles(limit: 10, before: nil).isEmpty)
            let removals = try await store.queueItems(QueueFilter()).filter { $0.kind == .delete }
            #expect(Set(removals.map(\.targetNodeID.rawValue)) == ["node-1", "node-2", "node-3"])
            #expect(policy.budget.availableBytes == budgetBefore)
        }
    }

    @Test("a slow client is not a stalled primary: time spent waiting for the body does not count")
    func slowClientIsNotAStall() async throws {
        try await withGateway(replay: .disabled) { uploads, _, _ in
            let chunks = [ByteBuffer(bytes: bytes[0..<5000]), ByteBuffer(bytes: bytes[5000...])]
            let slowBody = AsyncStream<ByteBuffer> { continuation in
                Task {
                    continuation.yield(chunks[0])
                    // Longer than the 300 ms stall limit.
                    try? await Task.sleep(for: .milliseconds(700))
                    continuation.yield(chunks[1])
                    continuation.finish()
                }
            }
            let reader = UploadBodyReader(body: AnyByteStream(slowBody), format: .raw, maxSize: 1 << 30, filename: "slow.bin")
            let outcome = try await uploads.store(
                reader, as: UploadDescriptor(filename: "slow.bin", expectedDigest: nil, length: Int64(bytes.count)),
                logger: logger)
            #expect(outcome.primary.rawValue == "node-1")
            #expect(outcome.failedOn.isEmpty)
        }
    }
}
