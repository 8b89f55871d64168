import DFSClient
import DFSCore
import DFSMetadata
import Foundation
import Logging
import NIOCore
import Testing
import TestSupport

@testable import Gateway

/// The delete flow against in-memory nodes: the file is gone from the metadata before any copy goes, a hung node
/// costs the delete its deadline and keeps a queued DELETE, and a download that lost the race is a 404.
@Suite("Bounded delete")
struct BoundedDeleteTests {
    let logger = Logger(label: "test")
    let bytes = (0..<10_000).map { UInt8($0 % 251) }

    func withGateway(
        _ body: (UploadCoordinator, DownloadCoordinator, FileDeleter, FakeNodeCluster, any MetadataStore) async throws -> Void
    ) async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("dfs-delete-\(UUID().uuidString).sqlite").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let store = try await SQLiteMetadataStore.open(path: path, logger: logger)
        let scoreboard = LatencyScoreboard(halfLife: .seconds(5))
        for index in 0..<3 {
            let id = try NodeID(validating: "node-\(index + 1)")
            await scoreboard.register(
                NodeEndpoint(id: id, baseURL: "http://fake-\(index + 1)"), role: .defaultRole(forIndex: index), isUp: true)
            await scoreboard.probed(id, isUp: true, latency: .milliseconds(1 + index * 4))
        }
        let nodes = FakeNodeCluster()
        let uploads = UploadCoordinator(store: store, nodes: nodes, scoreboard: scoreboard, replicationFactor: 3, writeQuorum: 1)
        let downloads = DownloadCoordinator(store: store, nodes: nodes, scoreboard: scoreboard)
        let deleter = FileDeleter(store: store, nodes: nodes, scoreboard: scoreboard, nodeDeadline: .milliseconds(200))
        do {
            try await body(uploads, downloads, deleter, nodes, store)
        } catch {
            try? await store.close()
            throw error
        }
        try await store.close()
    }

    func upload(_ bytes: [UInt8], with uploads: UploadCoordinator) async throws -> UploadOutcome {
        let reader = UploadBodyReader(
            body: AnyByteStream(chunks: [ByteBuffer(bytes: bytes)]), format: .raw, maxSize: 1 << 30, filename: "f.bin")
        return try await uploads.store(
            reader, as: UploadDescriptor(filename: "f.bin", expectedDigest: nil, length: Int64(bytes.count)), logger: logger)
    }

    @Test(
        "a hung holder costs the delete its deadline, not its hang: the others are removed and completed, its DELETE stays queued"
    )
    func hungHolderIsLeftToTheQueue() async throws {
        try await withGateway { uploads, _, deleter, nodes, store in
            let outcome = try await upload(bytes, with: uploads)
            let key = outcome.file.key
            nodes.set("node-2", .hung)
            let started = ContinuousClock.now
            let deleted = try await deleter.delete(key, logger: logger)
            // The deadline is 200 ms; the fake's hang is an hour.
            #expect(ContinuousClock.now - started < .seconds(60))
            #expect(deleted.deletedFrom.map(\.rawValue) == ["node-1", "node-3"])
            #expect(deleted.pendingOn.map(\.rawValue) == ["node-2"])
            #expect(try await store.file(key) == nil)
            #expect(nodes.blob(key.rawValue, on: "node-1") == nil && nodes.blob(key.rawValue, on: "node-3") == nil)
            let items = try await store.queueItems(QueueFilter()).filter { $0.kind == .delete && $0.fileKey == key }
            #expect(
                Dictionary(uniqueKeysWithValues: items.map { ($0.targetNodeID.rawValue, $0.status) }) == [
                    "node-1": .completed, "node-2": .pending, "node-3": .completed,
                ])
        }
    }

    @Test(
        "a download that read the file's entry just before a delete removed every copy answers file not found, not no node available"
    )
    func downloadRacingDeleteIsNotFound() async throws {
        try await withGateway { uploads, downloads, deleter, _, _ in
            let outcome = try await upload(bytes, with: uploads)
            let entry = try await downloads.metadata(of: outcome.file.key)
            _ = try await deleter.delete(outcome.file.key, logger: logger)
            await #expect {
                _ = try await downloads.open(entry, rangeHeader: nil, logger: logger)
            } throws: { error in
                guard case FileAccessError.fileNotFound = error else { return false }
                return true
            }
        }
    }
}
