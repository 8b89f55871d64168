import DFSCore
import DFSMetadata
import Foundation
import Testing

@testable import Gateway

/// The dashboard's history: rates from counter differences over the sampler's own time, bounded rings, `since`.
@Suite("Metrics history")
struct MetricsHistoryTests {
    let node1 = try! NodeID(validating: "node-1")
    let node2 = try! NodeID(validating: "node-2")
    let origin = Date(timeIntervalSince1970: 1_700_000_000)

    private func score(_ id: NodeID, isUp: Bool = true, latencyMs: Double? = 2, inFlight: Int = 0) -> NodeScore {
        NodeScore(
            endpoint: NodeEndpoint(id: id, baseURL: "http://127.0.0.1:1"), role: .main, isUp: isUp, ewmaLatencyMs: latencyMs,
            inFlight: inFlight, consecutiveFailures: 0)
    }

    private func totals(
        uploads: Int64 = 0, downloads: Int64 = 0, sent: Int64 = 0, calls: [NodeID: (Int64, Int64)] = [:]
    ) -> ActivityTotals {
        ActivityTotals(
            uploads: uploads, downloads: downloads, sentBytes: sent,
            nodeCalls: calls.mapValues { NodeCallTotals(requests: $0.0, errors: $0.1) })
    }

    @Test("rates are the counters' differences over the monotonic time between samples; the first sample has none")
    func ratesFromDifferences() {
        var history = MetricsHistory(window: .seconds(60))
        history.record(at: .zero, time: origin, totals: totals(downloads: 10, calls: [node1: (10, 0)]), nodes: [score(node1)])
        history.record(
            at: .seconds(2), time: origin + 2, totals: totals(uploads: 4, downloads: 30, sent: 4000, calls: [node1: (40, 2)]),
            nodes: [score(node1, inFlight: 3)])
        let snapshot = history.samples(after: nil)
        let samples = snapshot.nodes.first { $0.id == node1 }!.samples
        #expect(samples.count == 2)
        #expect(samples[0].requestsPerSecond == nil)
        #expect(samples[1].requestsPerSecond == 15)
        #expect(samples[1].errorsPerSecond == 1)
        #expect(samples[1].inFlight == 3)
        #expect(snapshot.traffic.count == 1)
        #expect(snapshot.traffic[0].downloadsPerSecond == 10)
        #expect(snapshot.traffic[0].uploadsPerSecond == 2)
        #expect(snapshot.traffic[0].sentBytesPerSecond == 2000)
    }

    @Test("a DOWN node is recorded as such and the gateway's calls to it read zero per second")
    func downNodeReadsZero() {
        var history = MetricsHistory(window: .seconds(60))
        history.record(at: .zero, time: origin, totals: totals(calls: [node2: (100, 0)]), nodes: [score(node2)])
        history.record(
            at: .seconds(1), time: origin + 1, totals: totals(calls: [node2: (150, 1)]), nodes: [score(node2, isUp: false)])
        history.record(
            at: .seconds(2), time: origin + 2, totals: totals(calls: [node2: (150, 1)]), nodes: [score(node2, isUp: false)])
        let samples = history.samples(after: nil).nodes[0].samples
        #expect(samples.map(\.isUp) == [true, false, false])
        #expect(samples.map(\.requestsPerSecond) == [nil, 50, 0])
        #expect(samples.map(\.latencyMs) == [2, nil, nil])
    }

    @Test("the rings keep only the window: memory does not grow with uptime")
    func ringsAreBounded() {
        var history = MetricsHistory(window: .seconds(10))
        #expect(history.capacity == 10)
        for second in 0..<1000 {
            history.record(
                at: .seconds(second), time: origin + Double(second),
                totals: totals(downloads: Int64(second), calls: [node1: (Int64(second), 0)]),
                nodes: [score(node1)])
            history.record(
                ReplicationSummary(
                    underReplicatedFiles: second, underReplicatedBytes: 0, oldestMissingSince: nil, queueCounts: [:]),
                time: origin + Double(second))
        }
        let snapshot = history.samples(after: nil)
        #expect(snapshot.nodes[0].samples.count == 10)
        #expect(snapshot.traffic.count == 10)
        #expect(snapshot.replication.count == 10)
        #expect(snapshot.nodes[0].samples.last?.time == origin + 999)
        #expect(snapshot.nodes[0].samples.first?.time == origin + 990)
        #expect(snapshot.replication.map(\.underReplicatedFiles) == Array(990..<1000))
    }

    @Test("since returns only later samples, oldest first")
    func sinceFilters() {
        var history = MetricsHistory(window: .seconds(60))
        for second in 0..<5 {
            history.record(
                at: .seconds(second), time: origin + Double(second), totals: totals(), nodes: [score(node1), score(node2)])
        }
        let later = history.samples(after: origin + 2)
        #expect(later.nodes.map(\.id) == [node1, node2])
        #expect(later.nodes[0].samples.map(\.time) == [origin + 3, origin + 4])
        #expect(later.traffic.map(\.time) == [origin + 3, origin + 4])
        #expect(history.samples(after: origin + 4).nodes.allSatisfy { $0.samples.isEmpty })
    }

    @Test("labels are whole milliseconds, unique and growing across series even when the wall clock stands or steps back")
    func labelsGrow() {
        var history = MetricsHistory(window: .seconds(60))
        let time = origin + 0.123_456
        history.record(at: .zero, time: time, totals: totals(), nodes: [score(node1)])
        history.record(
            ReplicationSummary(underReplicatedFiles: 0, underReplicatedBytes: 0, oldestMissingSince: nil, queueCounts: [:]),
            time: time)
        history.record(at: .seconds(1), time: time - 5, totals: totals(), nodes: [score(node1)])
        let snapshot = history.samples(after: nil)
        let labels = (snapshot.nodes[0].samples.map(\.time) + snapshot.replication.map(\.time)).map(MetricsHistory.milliseconds)
            .sorted()
        let first = MetricsHistory.milliseconds(time)
        #expect(labels == [first, first + 1, first + 2])
        // A label sent back as `since`, as a client parses it from the JSON, excludes exactly that sample.
        let sent = Date(timeIntervalSince1970: Double(first + 1) / 1000)
        let after = history.samples(after: sent)
        #expect(after.replication.isEmpty)
        #expect(after.nodes[0].samples.map { MetricsHistory.milliseconds($0.time) } == [first + 2])
    }

    @Test("a node no longer reported is forgotten once its last sample leaves the window")
    func departedNodeIsForgotten() {
        var history = MetricsHistory(window: .seconds(5))
        history.record(at: .zero, time: origin, totals: totals(), nodes: [score(node1), score(node2)])
        for second in 1...5 {
            history.record(at: .seconds(second), time: origin + Double(second), totals: totals(), nodes: [score(node1)])
        }
        #expect(history.samples(after: nil).nodes.map(\.id) == [node1, node2])
        history.record(at: .seconds(6), time: origin + 6, totals: totals(), nodes: [score(node1)])
        #expect(history.samples(after: nil).nodes.map(\.id) == [node1])
    }

    @Test("two samples at the same instant give no rate, and a later one measures from the earlier reference")
    func sameInstantGivesNoRate() {
        var history = MetricsHistory(window: .seconds(60))
        history.record(at: .seconds(1), time: origin, totals: totals(downloads: 0), nodes: [])
        history.record(at: .seconds(1), time: origin, totals: totals(downloads: 5), nodes: [])
        history.record(at: .seconds(3), time: origin + 2, totals: totals(downloads: 10), nodes: [])
        #expect(history.samples(after: nil).traffic.map(\.downloadsPerSecond) == [5])
    }

    @Test("the replication summary is sampled every interval, less often when every recent one was slow")
    func summaryCadence() {
        var cadence = SummaryCadence(interval: .seconds(1), maximumShare: 0.05)
        #expect(cadence.wait(after: .milliseconds(3)) == .seconds(1))
        // One summary that queued behind other work does not stop the series.
        #expect(cadence.wait(after: .milliseconds(1200)) == .seconds(1))
        #expect(cadence.wait(after: .milliseconds(500)) == .seconds(1))
        // Three slow ones in a row: the store is slow, sample it less often.
        #expect(cadence.wait(after: .milliseconds(600)) == .seconds(10))
        #expect(cadence.wait(after: .milliseconds(2000)) == .seconds(10))
        #expect(cadence.wait(after: .milliseconds(5)) == .seconds(1))
    }

    @Test("the ring keeps the newest elements in order when it wraps")
    func ringWraps() {
        var ring = RingBuffer<Int>(capacity: 3)
        #expect(ring.elements.isEmpty && ring.last == nil)
        for value in 1...5 { ring.append(value) }
        #expect(ring.elements == [3, 4, 5])
        #expect(ring.last == 5)
        #expect(ring.suffix { $0 > 3 } == [4, 5])
    }
}

@Suite("Activity counters")
struct ActivityCountersTests {
    @Test("uploads and downloads count when they succeed, 5xx as errors; probes are not node traffic")
    func counting() throws {
        let counters = ActivityCounters()
        let node = try NodeID(validating: "node-1")
        counters.requestAnswered(route: "/upload", method: "POST", status: 200)
        counters.requestAnswered(route: "/upload", method: "PUT", status: 200)
        counters.requestAnswered(route: "/upload", method: "POST", status: 422)
        counters.requestAnswered(route: "/download/{key}", method: "GET", status: 206)
        counters.requestAnswered(route: "/download/{key}", method: "HEAD", status: 200)
        counters.requestAnswered(route: "/files", method: "GET", status: 503)
        counters.received(100)
        counters.sent(250)
        counters.nodeCallFinished(node, operation: "get", succeeded: true)
        counters.nodeCallFinished(node, operation: "put", succeeded: false)
        counters.nodeCallFinished(node, operation: "health", succeeded: false)
        let totals = counters.totals
        #expect(totals.uploads == 2)
        #expect(totals.downloads == 1)
        #expect(totals.serverErrors == 1)
        #expect(totals.receivedBytes == 100 && totals.sentBytes == 250)
        #expect(totals.nodeCalls[node] == NodeCallTotals(requests: 2, errors: 1))
    }
}
