import DFSCore
import DFSMetadata
import Foundation
import Testing

/// Conformance of the queries behind returning-node reconciliation, audits and `GET /status/replication`.
@Suite("MetadataStore conformance: recovery queries")
struct MetadataStoreRecoveryConformanceTests {
    @Test("file states tell live files, tombstones and unknown keys apart", arguments: TestBackend.all)
    func fileStatesSeparateLiveDeletedUnknown(_ backend: TestBackend) async throws {
        try await backend.withFreshStore { store in
            try await store.recordUpload(sampleFile("alive"), verifiedOn: [node("node-1")], verifiedAt: Date(), queue: [])
            try await store.recordUpload(sampleFile("gone"), verifiedOn: [node("node-1")], verifiedAt: Date(), queue: [])
            #expect(try await store.markDeleted(key("gone"), removedFrom: [node("node-1")], pendingOn: [], at: Date()))
            let states = try await store.fileStates([key("alive"), key("gone"), key("never")])
            #expect(states == [key("alive"): .live, key("gone"): .deleted])
            #expect(try await store.fileStates([]).isEmpty)
        }
    }

    @Test("files expected on a node are the live ones with an ACTIVE location there", arguments: TestBackend.all)
    func filesExpectedOnNode(_ backend: TestBackend) async throws {
        try await backend.withFreshStore { store in
            try await store.recordUpload(
                sampleFile("b"), verifiedOn: [node("node-1"), node("node-2")], verifiedAt: Date(), queue: [])
            try await store.recordUpload(sampleFile("a"), verifiedOn: [node("node-2")], verifiedAt: Date(), queue: [])
            try await store.recordUpload(sampleFile("c"), verifiedOn: [node("node-2")], verifiedAt: Date(), queue: [])
            _ = try await store.markDeleted(key("c"), removedFrom: [], pendingOn: [node("node-2")], at: Date())
            try await store.recordUpload(sampleFile("d"), verifiedOn: [node("node-1")], verifiedAt: Date(), queue: [])
            try await store.recordLocation(key("d"), on: node("node-2"), status: .corrupt, verifiedAt: nil)
            #expect(try await store.filesExpected(on: node("node-2")) == [key("a"), key("b")])
            #expect(try await store.filesExpected(on: node("node-3")).isEmpty)
        }
    }

    @Test("a lost replica of a live file is marked and queued once; a deleted file's is left alone", arguments: TestBackend.all)
    func markReplicaLostQueuesRepair(_ backend: TestBackend) async throws {
        try await backend.withFreshStore { store in
            try await store.recordUpload(
                sampleFile("f"), verifiedOn: [node("node-1"), node("node-2")], verifiedAt: Date(), queue: [])
            #expect(
                try await store.markReplicaLost(
                    key("f"), on: node("node-2"), status: .corrupt, reason: "audit: digest differs", at: Date()))
            #expect(try await store.markReplicaLost(key("f"), on: node("node-2"), status: .corrupt, reason: "again", at: Date()))
            let entry = try #require(try await store.file(key("f")))
            #expect(entry.verifiedReplicas == [node("node-1")])
            #expect(entry.locations.first { $0.nodeID == node("node-2") }?.status == .corrupt)
            let queue = try await store.queueItems(QueueFilter(targetNodeID: node("node-2")))
            #expect(queue.count == 1)
            #expect(queue.first?.kind == .replicate)
            #expect(queue.first?.errorMessage == "audit: digest differs")

            _ = try await store.markDeleted(key("f"), removedFrom: [node("node-1"), node("node-2")], pendingOn: [], at: Date())
            #expect(
                try await store.markReplicaLost(key("f"), on: node("node-1"), status: .missing, reason: "gone", at: Date())
                    == false)
            #expect(try await store.queueItems(QueueFilter(status: .pending)).isEmpty)
        }
    }

    @Test(
        "the replication summary counts files below the factor, the oldest open repair and the queue by status",
        arguments: TestBackend.all)
    func replicationSummaryCounts(_ backend: TestBackend) async throws {
        try await backend.withFreshStore { store in
            let queued = Date(timeIntervalSince1970: 1_800_000_100)
            try await store.recordUpload(
                sampleFile("full"), verifiedOn: [node("node-1"), node("node-2")], verifiedAt: Date(), queue: [])
            try await store.recordUpload(
                sampleFile("half"), verifiedOn: [node("node-1")], verifiedAt: queued,
                queue: [
                    NewQueueItem(
                        fileKey: key("half"), targetNodeID: node("node-2"), sourceNodeID: nil, kind: .replicate, reason: nil)
                ])
            try await store.recordUpload(sampleFile("dead"), verifiedOn: [node("node-1")], verifiedAt: Date(), queue: [])
            _ = try await store.markDeleted(key("dead"), removedFrom: [node("node-1")], pendingOn: [], at: Date())
            let summary = try await store.replicationSummary(replicationFactor: 2)
            #expect(summary.underReplicatedFiles == 1)
            #expect(summary.underReplicatedBytes == 42)
            #expect(summary.oldestMissingSince == queued)
            #expect(summary.queueCounts[.pending] == 1)
            #expect(summary.queueCounts[.failed] == 0)
            #expect(summary.queueCounts.count == QueueItemStatus.allCases.count)
        }
    }

    @Test(
        "replicas to audit come stalest first, and a verification moves only ACTIVE copies of live files",
        arguments: TestBackend.all)
    func auditOrderAndVerification(_ backend: TestBackend) async throws {
        try await backend.withFreshStore { store in
            let early = Date(timeIntervalSince1970: 1_800_000_000)
            let late = Date(timeIntervalSince1970: 1_800_000_500)
            try await store.recordUpload(sampleFile("fresh"), verifiedOn: [node("node-1")], verifiedAt: late, queue: [])
            try await store.recordUpload(sampleFile("stale"), verifiedOn: [node("node-1")], verifiedAt: early, queue: [])
            try await store.recordUpload(sampleFile("never"), verifiedOn: [], verifiedAt: early, queue: [])
            try await store.recordLocation(key("never"), on: node("node-1"), status: .active, verifiedAt: nil)
            try await store.recordUpload(sampleFile("bad"), verifiedOn: [node("node-1")], verifiedAt: early, queue: [])
            _ = try await store.markReplicaLost(key("bad"), on: node("node-1"), status: .corrupt, reason: "rot", at: early)
            #expect(
                try await store.replicasToAudit(on: node("node-1"), limit: 10).map(\.key) == [
                    key("never"), key("stale"), key("fresh"),
                ])
            #expect(try await store.replicasToAudit(on: node("node-1"), limit: 1).map(\.key) == [key("never")])

            try await store.markReplicaVerified(key("never"), on: node("node-1"), at: late.addingTimeInterval(1))
            try await store.markReplicaVerified(key("bad"), on: node("node-1"), at: late)
            #expect(
                try await store.replicasToAudit(on: node("node-1"), limit: 10).map(\.key) == [
                    key("stale"), key("fresh"), key("never"),
                ])
            let bad = try #require(try await store.file(key("bad")))
            #expect(bad.locations.first?.status == .corrupt)
        }
    }
}
