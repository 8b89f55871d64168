import DFSClient
import DFSCore
import DFSMetadata
import Foundation
import Logging
import NIOCore
import Synchronization
import Testing
import TestSupport

@testable import Gateway

/// Hedged reads, first-byte failover, mid-stream stalls and hung nodes against in-memory nodes.
@Suite("Download routing: hedging, stalls, hung nodes")
struct DownloadRoutingTests {
    let logger = Logger(label: "test")
    let bytes = (0..<50_000).map { UInt8(($0 * 7) % 251) }

    struct Fixture {
        var uploads: UploadCoordinator
        var downloads: DownloadCoordinator
        var nodes: FakeNodeCluster
        var scoreboard: LatencyScoreboard
        var store: any MetadataStore
    }

    /// node-1…3 UP, node-1 clearly fastest, so it leads every ranking unless it fails.
    func withFixture(
        hedging: HedgePolicy? = nil, hedgeBudget: Double = 0, firstByteTimeout: Duration = .seconds(2),
        stallTimeout: Duration = .seconds(2),
        livenessWindow: Duration = .seconds(1), slowness: SlowSourceDetector = SlowSourceDetector(),
        events: DownloadEvents = DownloadEvents(),
        _ body: (Fixture) async throws -> Void
    ) async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("dfs-routing-\(UUID().uuidString).sqlite").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let store = try await SQLiteMetadataStore.open(path: path, logger: logger)
        let scoreboard = LatencyScoreboard(halfLife: .seconds(5), ejectAfter: 2, hedging: hedging, hedgeBudget: hedgeBudget)
        for (index, latency) in [1, 20, 40].enumerated() {
            let id = try NodeID(validating: "node-\(index + 1)")
            await scoreboard.register(
                NodeEndpoint(id: id, baseURL: "http://fake-\(index + 1)"), role: .defaultRole(forIndex: index), isUp: true)
            await scoreboard.probed(id, isUp: true, latency: .milliseconds(latency))
        }
        let nodes = FakeNodeCluster()
        let fixture = Fixture(
            uploads: UploadCoordinator(
                store: store, nodes: nodes, scoreboard: scoreboard, replicationFactor: 3, writeQuorum: 1,
                livenessWindow: livenessWindow,
                livenessTimeout: .milliseconds(300)),
            downloads: DownloadCoordinator(
                store: store, nodes: nodes, scoreboard: scoreboard, firstByteTimeout: firstByteTimeout,
                stallTimeout: stallTimeout, slowness: slowness, events: events),
            nodes: nodes, scoreboard: scoreboard, store: store)
        do {
            try await body(fixture)
        } catch {
            try? await store.close()
            throw error
        }
        try await store.close()
    }

    /// Puts the test file on all three nodes and records it, without the upload path: an upload feeds its primary's
    /// wait into node-1's latency average, and on a starved machine that wait alone could rank node-2 first.
    func storeFile(_ fixture: Fixture) async throws -> FileKey {
        let key = FileKey.generate()
        var endpoints: [NodeEndpoint] = []
        for index in 1...3 {
            endpoints.append(NodeEndpoint(id: try NodeID(validating: "node-\(index)"), baseURL: "http://fake-\(index)"))
        }
        _ = try await fixture.nodes.putBlob(
            key, on: endpoints[0], body: AnyByteStream(chunks: [ByteBuffer(bytes: bytes)]), length: Int64(bytes.count),
            replicateTo: Array(endpoints.dropFirst()), expectedDigest: nil)
        let digests = FakeNodeCluster.digests(bytes)
        let file = FileRecord(
            key: key, originalFilename: "f.bin", sizeBytes: Int64(bytes.count), checksum: digests.whole, uploadedAt: Date(),
            blockRoot: digests.blocks.root)
        try await fixture.store.recordUpload(file, verifiedOn: endpoints.map(\.id), verifiedAt: Date(), queue: [])
        return key
    }

    /// Stores the test file through the upload path (which feeds the primary's latency).
    func upload(_ fixture: Fixture) async throws -> FileKey {
        let reader = UploadBodyReader(
            body: AnyByteStream(chunks: [ByteBuffer(bytes: bytes)]), format: .raw, maxSize: 1 << 30, filename: "f.bin")
        return try await fixture.uploads.store(
            reader, as: UploadDescriptor(filename: "f.bin", expectedDigest: nil, length: Int64(bytes.count)), logger: logger
        ).file.key
    }

    func download(_ key: FileKey, _ fixture: Fixture) async throws -> (DownloadPlan, [UInt8]) {
        let plan = try await fixture.downloads.open(
            try await fixture.downloads.metadata(of: key), rangeHeader: nil, logger: logger)
        var received: [UInt8] = []
        for try await chunk in plan.body { received += chunk.readableBytesView }
        return (plan, received)
    }

    @Test("when the first replica's first byte is late, the hedge to the next replica wins and serves every byte")
    func hedgeWins() async throws {
        let policy = HedgePolicy(minimumDelay: .milliseconds(50), maximumDelay: .milliseconds(50))
        try await withFixture(hedging: policy, hedgeBudget: 1, firstByteTimeout: .seconds(120)) { fixture in
            let key = try await storeFile(fixture)
            fixture.nodes.set("node-1", .slowFirstByte(.seconds(60)))
            let started = ContinuousClock.now
            let (plan, received) = try await download(key, fixture)
            #expect(received == bytes)
            #expect(plan.routing.hedgedTo?.rawValue == "node-2")
            #expect(plan.routing.servedBy.rawValue == "node-2")
            #expect(plan.routing.failedBeforeFirstByte.isEmpty)
            // Correctness bound, not a speed target: the answer must not have waited for the slow node (60 s); the
            // slack absorbs a starved test machine (the whole suite runs in parallel on two cores).
            #expect(ContinuousClock.now - started < .seconds(20))
            // The loser was cancelled by us: its in-flight slot is free and it is not blamed.
            let loser = try #require(await fixture.scoreboard.score(of: try NodeID(validating: "node-1")))
            #expect(loser.inFlight == 0)
            #expect(loser.consecutiveFailures == 0)
            // But the time it kept us waiting counts as a latency sample, so it no longer leads the ranking.
            #expect((loser.ewmaLatencyMs ?? 0) >= 50)
            #expect(await fixture.scoreboard.ranked().first?.id.rawValue != "node-1")
        }
    }

    @Test("with the hedge budget exhausted a late first byte is waited for, not hedged")
    func budgetExhaustedStopsHedging() async throws {
        let policy = HedgePolicy(minimumDelay: .milliseconds(20), maximumDelay: .milliseconds(20))
        try await withFixture(hedging: policy, hedgeBudget: 0) { fixture in
            let key = try await storeFile(fixture)
            fixture.nodes.set("node-1", .slowFirstByte(.milliseconds(300)))
            let (plan, received) = try await download(key, fixture)
            #expect(received == bytes)
            #expect(plan.routing.hedgedTo == nil)
            #expect(plan.routing.servedBy.rawValue == "node-1")
            #expect(fixture.nodes.reads(on: "node-2") == 0)
        }
    }

    @Test("a late leader is not hedged to a replica whose recent first bytes were slower than the wait; no budget is spent")
    func slowReplicaIsNotHedgedTo() async throws {
        // Hedge at 50 ms: only a replica expected within half the leader's wait may be asked. node-2 and node-3 still
        // rank behind node-1 by their probes, but their downloads' first bytes took 5 s: neither can win before node-1
        // answers at 300 ms, however late the hedge timer fires on a busy machine.
        let policy = HedgePolicy(minimumDelay: .milliseconds(50), maximumDelay: .milliseconds(50))
        try await withFixture(hedging: policy, hedgeBudget: 1) { fixture in
            let key = try await storeFile(fixture)
            for slow in ["node-2", "node-3"] {
                let id = try NodeID(validating: slow)
                for _ in 0..<policy.minimumSamples { await fixture.scoreboard.firstByteObserved(on: id, after: .seconds(5)) }
            }
            fixture.nodes.set("node-1", .slowFirstByte(.milliseconds(300)))
            let (plan, received) = try await download(key, fixture)
            #expect(received == bytes)
            #expect(plan.routing.hedgedTo == nil)
            #expect(plan.routing.servedBy.rawValue == "node-1")
            #expect(fixture.nodes.reads(on: "node-2") == 0)
            #expect(fixture.nodes.reads(on: "node-3") == 0)
            #expect(await fixture.scoreboard.hedgeTokens >= 1, "the token was kept for a hedge that can win")
        }
    }

    @Test("a hedge refused at first is reconsidered as the leader keeps waiting, and then sent")
    func hedgeIsReconsideredWhileTheLeaderWaits() async throws {
        // Hedge at 50 ms; the other replicas' first bytes take 150 ms, so they qualify only once the leader has
        // waited over 300 ms (twice their expected time): the hedge must be looked at again, not given up.
        let policy = HedgePolicy(minimumDelay: .milliseconds(50), maximumDelay: .milliseconds(50))
        try await withFixture(hedging: policy, hedgeBudget: 1, firstByteTimeout: .seconds(120)) { fixture in
            let key = try await storeFile(fixture)
            for other in ["node-2", "node-3"] {
                let id = try NodeID(validating: other)
                for _ in 0..<policy.minimumSamples {
                    await fixture.scoreboard.firstByteObserved(on: id, after: .milliseconds(150))
                }
            }
            fixture.nodes.set("node-1", .slowFirstByte(.seconds(60)))
            let started = ContinuousClock.now
            let (plan, received) = try await download(key, fixture)
            #expect(received == bytes)
            let hedgedTo = try #require(plan.routing.hedgedTo)
            #expect(plan.routing.servedBy == hedgedTo)
            // Correctness bound: far from the 60 s the leader would have taken (the first-byte timeout is out of reach).
            #expect(ContinuousClock.now - started < .seconds(20))
        }
    }

    @Test("a late leader is hedged past a slow second replica to a fast third one")
    func fastReplicaBehindSlowOneIsHedgedTo() async throws {
        // Hedge at 100 ms: replicas expected within half the wait qualify: node-3 (probed at 40 ms) does, node-2 (first
        // bytes in 5 s) would only after a 10 s wait.
        let policy = HedgePolicy(minimumDelay: .milliseconds(100), maximumDelay: .milliseconds(100))
        try await withFixture(hedging: policy, hedgeBudget: 1, firstByteTimeout: .seconds(30)) { fixture in
            let key = try await storeFile(fixture)
            let node2 = try NodeID(validating: "node-2")
            for _ in 0..<policy.minimumSamples { await fixture.scoreboard.firstByteObserved(on: node2, after: .seconds(5)) }
            fixture.nodes.set("node-1", .slowFirstByte(.seconds(3)))
            let (plan, received) = try await download(key, fixture)
            #expect(received == bytes)
            #expect(plan.routing.hedgedTo?.rawValue == "node-3")
            #expect(plan.routing.servedBy.rawValue == "node-3")
            #expect(fixture.nodes.reads(on: "node-2") == 0)
        }
    }

    @Test("a hung replica is skipped after the first-byte timeout and reported as a failover")
    func hungReplicaFailsOver() async throws {
        try await withFixture(firstByteTimeout: .milliseconds(200)) { fixture in
            let key = try await storeFile(fixture)
            fixture.nodes.set("node-1", .hung)
            let (plan, received) = try await download(key, fixture)
            #expect(received == bytes)
            #expect(plan.routing.failedBeforeFirstByte.map(\.rawValue) == ["node-1"])
            #expect(plan.routing.servedBy.rawValue == "node-2")
            // A second timeout ejects node-1 (eject-after 2): the third download goes elsewhere at once.
            _ = try await download(key, fixture)
            #expect(await fixture.scoreboard.score(of: try NodeID(validating: "node-1"))?.isEjected == true)
            let (third, _) = try await download(key, fixture)
            #expect(third.routing.failedBeforeFirstByte.isEmpty)
        }
    }

    @Test("a source that stalls mid-stream is replaced at the byte reached and the body is complete")
    func midStreamStallResumes() async throws {
        try await withFixture(stallTimeout: .seconds(1)) { fixture in
            let key = try await storeFile(fixture)
            fixture.nodes.set("node-1", .stallsAfter(bytes: 20_000))
            let started = ContinuousClock.now
            let (plan, received) = try await download(key, fixture)
            #expect(plan.routing.servedBy.rawValue == "node-1")
            #expect(received == bytes)
            // A stalled source never ends by itself: finishing at all, well within this, is the failover.
            #expect(ContinuousClock.now - started < .seconds(20))
            #expect(fixture.nodes.reads(on: "node-2") == 1)
        }
    }

    @Test("a resume asks from the start of the block and checks the part already sent against it")
    func resumeChecksTheJoinedBlock() async throws {
        try await withFixture(stallTimeout: .milliseconds(500)) { fixture in
            let key = try await storeFile(fixture)
            // node-2 re-sends the start of the block with one byte changed: it disagrees with what node-1 sent, so
            // node-3 decides, agrees, and finishes the body.
            fixture.nodes.set("node-1", .stallsAfter(bytes: 20_000))
            fixture.nodes.set("node-2", .altersInTransit(flippedAt: 5_000, stallsAfter: nil))
            let (_, received) = try await download(key, fixture)
            #expect(received == bytes)
            #expect(fixture.nodes.reads(on: "node-2") == 1)
            #expect(fixture.nodes.reads(on: "node-3") == 1)
        }
    }

    @Test("bytes sent wrong before a resume are caught by the replacement's block: the response is aborted, not completed")
    func wrongBytesBeforeAResumeAbort() async throws {
        try await withFixture(stallTimeout: .milliseconds(500)) { fixture in
            let key = try await storeFile(fixture)
            fixture.nodes.set("node-1", .altersInTransit(flippedAt: 10_000, stallsAfter: 20_000))
            let plan = try await fixture.downloads.open(
                try await fixture.downloads.metadata(of: key), rangeHeader: nil, logger: logger)
            var received: [UInt8] = []
            await #expect(throws: (any Error).self) {
                for try await chunk in plan.body { received += chunk.readableBytesView }
            }
            // Everything up to the stall went out; nothing after it, so the client never holds a whole, wrong body.
            #expect(received.count == 20_000)
            #expect(fixture.nodes.reads(on: "node-2") == 1)
            #expect(fixture.nodes.reads(on: "node-3") == 1)
        }
    }

    @Test("a range that starts inside a block resumes from the range's start, not the block's")
    func rangeResumeStartsAtTheRange() async throws {
        try await withFixture(stallTimeout: .milliseconds(500)) { fixture in
            let key = try await storeFile(fixture)
            fixture.nodes.set("node-1", .stallsAfter(bytes: 15_000))
            let plan = try await fixture.downloads.open(
                try await fixture.downloads.metadata(of: key), rangeHeader: "bytes=3000-45999", logger: logger)
            var received: [UInt8] = []
            for try await chunk in plan.body { received += chunk.readableBytesView }
            #expect(received == Array(bytes[3000...45_999]))
            #expect(fixture.nodes.reads(on: "node-2") == 1)
        }
    }

    @Test("a source that turns far slower than its recent throughput is replaced mid-stream; the body is complete")
    func slowSourceIsReplaced() async throws {
        // Small windows so a 50 kB file can show it; the stall timeout is long, so only slowness can trigger.
        let slowness = SlowSourceDetector(window: .milliseconds(200), minimumBytesRemaining: 0)
        let log = EventLog()
        var events = DownloadEvents()
        events.failedOver = { log.record("failover \($0) \($1.rawValue)") }
        try await withFixture(stallTimeout: .seconds(30), slowness: slowness, events: events) { fixture in
            let key = try await storeFile(fixture)
            let node1 = try NodeID(validating: "node-1")
            await fixture.scoreboard.throughputObserved(on: node1, bytesPerSecond: 100_000_000)
            // 1000 bytes per 2 s = 500 B/s, against a usual 100 MB/s; left alone the rest would take 60 s.
            fixture.nodes.set("node-1", .tricklesAfter(bytes: 20_000, chunkDelay: .seconds(2)))
            let started = ContinuousClock.now
            let (plan, received) = try await download(key, fixture)
            #expect(plan.servedBy == node1)
            #expect(received == bytes)
            // The trickling source is the first one given up; on a starved machine the replacement may also look
            // slow for a window and be replaced in turn, which is the detector working, not a fault.
            #expect(log.entries.first == "failover node-1 slow")
            #expect(fixture.nodes.reads(on: "node-2") == 1)
            #expect(ContinuousClock.now - started < .seconds(20))
        }
    }

    @Test("a slow source with nowhere better to go is kept, and the download completes")
    func slowSourceWithoutFallbackIsKept() async throws {
        let slowness = SlowSourceDetector(window: .milliseconds(100), minimumBytesRemaining: 0)
        try await withFixture(firstByteTimeout: .milliseconds(300), stallTimeout: .seconds(30), slowness: slowness) { fixture in
            let key = try await storeFile(fixture)
            for number in 1...3 {
                let node = try NodeID(validating: "node-\(number)")
                await fixture.scoreboard.throughputObserved(on: node, bytesPerSecond: 100_000_000)
                fixture.nodes.set(
                    node.rawValue, number == 1 ? .tricklesAfter(bytes: 45_000, chunkDelay: .milliseconds(120)) : .hung)
            }
            let (_, received) = try await download(key, fixture)
            #expect(received == bytes)
        }
    }

    @Test("a replacement source holding a different blob (another size) is passed over for one that matches")
    func resumeSkipsMismatchedReplica() async throws {
        try await withFixture(stallTimeout: .seconds(1)) { fixture in
            let key = try await storeFile(fixture)
            fixture.nodes.removeBlob(key.rawValue, on: "node-2")
            let node2 = NodeEndpoint(id: try NodeID(validating: "node-2"), baseURL: "x")
            _ = try await fixture.nodes.putBlob(
                key, on: node2, body: AnyByteStream(chunks: [ByteBuffer(bytes: bytes + [1, 2, 3])]), length: nil, replicateTo: [],
                expectedDigest: nil)
            fixture.nodes.set("node-1", .stallsAfter(bytes: 20_000))
            let (_, received) = try await download(key, fixture)
            #expect(received == bytes)
            #expect(fixture.nodes.reads(on: "node-2") == 1)
            #expect(fixture.nodes.reads(on: "node-3") == 1)
        }
    }

    @Test("a streaming download counts in its node's in-flight until it ends, or until the response is dropped")
    func streamingCountsAsInFlight() async throws {
        try await withFixture { fixture in
            let key = try await storeFile(fixture)
            let entry = try await fixture.downloads.metadata(of: key)
            var plan: DownloadPlan? = try await fixture.downloads.open(entry, rangeHeader: nil, logger: logger)
            let node = try #require(plan?.servedBy)
            #expect(await fixture.scoreboard.score(of: node)?.inFlight == 1)
            plan = nil
            #expect(await fixture.scoreboard.score(of: node)?.inFlight == 0, "a response dropped unread gives its slot back")

            let (read, received) = try await download(key, fixture)
            #expect(received == bytes)
            #expect(await fixture.scoreboard.score(of: read.servedBy)?.inFlight == 0)
        }
    }

    @Test("a client that goes away while replicas are still being asked leaves no in-flight slot behind")
    func cancelledRaceReleasesSlots() async throws {
        // 50 ms: node-2 (probed at 20 ms) qualifies as a hedge target.
        let policy = HedgePolicy(minimumDelay: .milliseconds(50), maximumDelay: .milliseconds(50))
        try await withFixture(hedging: policy, hedgeBudget: 1, firstByteTimeout: .seconds(30)) { fixture in
            let key = try await storeFile(fixture)
            for node in ["node-1", "node-2", "node-3"] { fixture.nodes.set(node, .hung) }
            let downloads = fixture.downloads
            let logger = self.logger
            let attempt = Task {
                try await downloads.open(try await downloads.metadata(of: key), rangeHeader: nil, logger: logger)
            }
            try await eventually("the hedge is running too") {
                await fixture.scoreboard.all().map(\.inFlight).reduce(0, +) == 2
            }
            attempt.cancel()
            await #expect(throws: CancellationError.self) { _ = try await attempt.value }
            #expect(await fixture.scoreboard.all().allSatisfy { $0.inFlight == 0 })
        }
    }

    @Test("when every replica stalls the response is aborted, never completed short")
    func everyReplicaStalls() async throws {
        try await withFixture(stallTimeout: .milliseconds(100)) { fixture in
            let key = try await storeFile(fixture)
            for node in ["node-1", "node-2", "node-3"] { fixture.nodes.set(node, .stallsAfter(bytes: 10_000)) }
            let plan = try await fixture.downloads.open(
                try await fixture.downloads.metadata(of: key), rangeHeader: nil, logger: logger)
            var received = 0
            await #expect(throws: NodeRequestError.self) {
                for try await chunk in plan.body { received += chunk.readableBytes }
            }
            #expect(received < bytes.count)
        }
    }

    @Test("hedges and failovers are reported once each through DownloadEvents")
    func eventsAreReported() async throws {
        let log = EventLog()
        var events = DownloadEvents()
        events.hedgeSent = { log.record("hedge-sent \($0)") }
        events.hedgeWon = { log.record("hedge-won \($0)") }
        events.failedOver = { log.record("failover \($0) \($1.rawValue)") }
        let policy = HedgePolicy(minimumDelay: .milliseconds(50), maximumDelay: .milliseconds(50))
        try await withFixture(hedging: policy, hedgeBudget: 1, stallTimeout: .seconds(1), events: events) { fixture in
            let key = try await storeFile(fixture)
            fixture.nodes.set("node-1", .slowFirstByte(.seconds(3)))
            fixture.nodes.set("node-2", .stallsAfter(bytes: 20_000))
            let (plan, received) = try await download(key, fixture)
            #expect(received == bytes)
            #expect(plan.routing.servedBy.rawValue == "node-2")
            #expect(log.entries == ["hedge-sent node-2", "hedge-won node-2", "failover node-2 stalled"])
            // The late loser of the race is the last fallback: node-3 takes over, not the slow node-1.
            #expect(fixture.nodes.reads(on: "node-3") == 1)
        }
    }

    @Test("mid-stream, a replica holding other bytes is refused as a fallback, reported damaged, and the next one finishes")
    func otherBytesAreNotResumedFrom() async throws {
        let log = EventLog()
        var events = DownloadEvents()
        events.copyDamaged = { _, node, status, _ in log.record("damaged \(node) \(status.rawValue)") }
        try await withFixture(stallTimeout: .seconds(1), events: events) { fixture in
            let key = try await storeFile(fixture)
            // node-2's copy was rewritten with other bytes (its recorded digest is theirs), so it is not the file.
            var other = bytes
            other[40_000] ^= 0x01
            fixture.nodes.removeBlob(key.rawValue, on: "node-2")
            let node2 = NodeEndpoint(id: try NodeID(validating: "node-2"), baseURL: "x")
            _ = try await fixture.nodes.putBlob(
                key, on: node2, body: AnyByteStream(chunks: [ByteBuffer(bytes: other)]), length: nil, replicateTo: [],
                expectedDigest: nil)
            fixture.nodes.set("node-1", .stallsAfter(bytes: 20_000))
            let (_, received) = try await download(key, fixture)
            #expect(received == bytes)
            #expect(log.entries == ["damaged node-2 CORRUPT"])
            #expect(fixture.nodes.reads(on: "node-3") == 1)
        }
    }

    @Test("an upload leaves out a hung node after one liveness timeout and still stores on the others")
    func uploadAvoidsHungNode() async throws {
        try await withFixture(livenessWindow: .zero) { fixture in
            fixture.nodes.set("node-1", .hung)
            let started = ContinuousClock.now
            let reader = UploadBodyReader(
                body: AnyByteStream(chunks: [ByteBuffer(bytes: bytes)]), format: .raw, maxSize: 1 << 30, filename: "h.bin")
            let outcome = try await fixture.uploads.store(
                reader, as: UploadDescriptor(filename: "h.bin", expectedDigest: nil, length: Int64(bytes.count)), logger: logger)
            #expect(outcome.primary.rawValue != "node-1")
            #expect(outcome.failedOn.map(\.rawValue) == ["node-1"])
            // Correctness bound: one liveness timeout (300 ms) plus slack for a starved test machine; a hung node
            // would hold the upload forever.
            #expect(ContinuousClock.now - started < .seconds(10))
        }
    }

    @Test("an upload feeds the primary's answer time into its latency score")
    func uploadFeedsLatency() async throws {
        try await withFixture { fixture in
            let before = await fixture.scoreboard.ranked().first
            _ = try await upload(fixture)
            let primary = try #require(before)
            let after = try #require(await fixture.scoreboard.score(of: primary.id))
            #expect(after.ewmaLatencyMs != primary.ewmaLatencyMs, "the upload's answer time must be a latency sample")
            #expect(after.inFlight == 0)
        }
    }
}

/// Collects event descriptions from any task.
final class EventLog: Sendable {
    private let list = Mutex<[String]>([])
    var entries: [String] { list.withLock { $0 } }
    func record(_ entry: String) { list.withLock { $0.append(entry) } }
}
