import DFSCore
import DFSMetadata
import Foundation

/// One node at one sample: what routing saw, and the rate of calls the gateway sent it since the previous sample.
struct NodeSample: Sendable, Equatable {
    var time: Date
    var isUp: Bool
    var isEjected: Bool
    /// The latency average routing ranks the node by (decayed for the time since its last sample); nil until measured
    /// and while the node is DOWN, when routing does not rank it and the average only decays, measuring nothing.
    var latencyMs: Double?
    var inFlight: Int
    /// Calls per second (probes left out) and the failed ones among them; nil on the first sample, which has no
    /// previous one to differ from.
    var requestsPerSecond: Double?
    var errorsPerSecond: Double?
}

/// Client traffic through the gateway during the second before `time`.
struct TrafficSample: Sendable, Equatable {
    var time: Date
    var uploadsPerSecond: Double
    var downloadsPerSecond: Double
    var serverErrorsPerSecond: Double
    var receivedBytesPerSecond: Double
    var sentBytesPerSecond: Double
}

/// The replication state read from the metadata store at `time`.
struct ReplicationSample: Sendable, Equatable {
    var time: Date
    var underReplicatedFiles: Int
    var underReplicatedBytes: Int64
    var queueCounts: [QueueItemStatus: Int]
}

/// The samples newer than a given time, per series, oldest first.
struct HistorySnapshot: Sendable, Equatable {
    var nodes: [(id: NodeID, samples: [NodeSample])]
    var traffic: [TrafficSample]
    var replication: [ReplicationSample]

    static func == (lhs: HistorySnapshot, rhs: HistorySnapshot) -> Bool {
        lhs.nodes.map(\.id) == rhs.nodes.map(\.id) && lhs.nodes.map(\.samples) == rhs.nodes.map(\.samples)
            && lhs.traffic == rhs.traffic && lhs.replication == rhs.replication
    }
}

/// The dashboard's recent past: a few minutes of per-node and cluster samples in fixed-size rings, so memory is
/// bounded by the window, not by uptime. Pure: the caller passes the time (`at`, monotonic since an origin of its
/// choosing, decides rates and expiry; `time`, wall clock, only labels the samples) and the counter totals, and
/// rates are the counters' differences over the monotonic time between two samples.
struct MetricsHistory: Sendable {
    let window: Duration
    let capacity: Int
    private var nodeRings: [NodeID: RingBuffer<NodeSample>] = [:]
    private var nodeLastSeen: [NodeID: Duration] = [:]
    private var trafficRing: RingBuffer<TrafficSample>
    private var replicationRing: RingBuffer<ReplicationSample>
    private var previous: (at: Duration, totals: ActivityTotals)?
    /// The label of the newest sample of any series, in whole milliseconds.
    private var newestLabel: Int64 = .min

    /// - Parameters:
    ///   - window: how far back the history reaches.
    ///   - interval: the time between samples the rings are sized for (one sample per interval fills the window).
    init(window: Duration, interval: Duration = .seconds(1)) {
        self.window = window
        capacity = max(1, Int((window / interval).rounded(.up)))
        trafficRing = RingBuffer(capacity: capacity)
        replicationRing = RingBuffer(capacity: capacity)
    }

    /// Adds one sample of every node the scoreboard knows and, from the second sample on, of client traffic.
    /// Nodes no longer reported are forgotten once their last sample is older than the window.
    mutating func record(at: Duration, time: Date, totals: ActivityTotals, nodes: [NodeScore]) {
        let time = label(time)
        let elapsed = previous.map { (at - $0.at).inSeconds }
        // Two samples at the same instant (or a clock that went back) give no rate; keep the older reference.
        let rates = elapsed.flatMap { $0 > 0 ? $0 : nil }
        let before = previous?.totals
        for node in nodes {
            let calls = totals.nodeCalls[node.id] ?? NodeCallTotals()
            let earlier = before?.nodeCalls[node.id] ?? NodeCallTotals()
            let sample = NodeSample(
                time: time, isUp: node.isUp, isEjected: node.isEjected,
                latencyMs: node.isUp ? node.currentLatencyMs ?? node.ewmaLatencyMs : nil,
                inFlight: node.inFlight,
                requestsPerSecond: rates.map { Self.rate(calls.requests - earlier.requests, over: $0) },
                errorsPerSecond: rates.map { Self.rate(calls.errors - earlier.errors, over: $0) })
            nodeRings[node.id, default: RingBuffer(capacity: capacity)].append(sample)
            nodeLastSeen[node.id] = at
        }
        for (node, seen) in nodeLastSeen where at - seen > window {
            nodeRings[node] = nil
            nodeLastSeen[node] = nil
        }
        if let seconds = rates, let before {
            trafficRing.append(
                TrafficSample(
                    time: time,
                    uploadsPerSecond: Self.rate(totals.uploads - before.uploads, over: seconds),
                    downloadsPerSecond: Self.rate(totals.downloads - before.downloads, over: seconds),
                    serverErrorsPerSecond: Self.rate(totals.serverErrors - before.serverErrors, over: seconds),
                    receivedBytesPerSecond: Self.rate(totals.receivedBytes - before.receivedBytes, over: seconds),
                    sentBytesPerSecond: Self.rate(totals.sentBytes - before.sentBytes, over: seconds)))
        }
        if previous == nil || rates != nil { previous = (at, totals) }
    }

    mutating func record(_ summary: ReplicationSummary, time: Date) {
        let time = label(time)
        replicationRing.append(
            ReplicationSample(
                time: time, underReplicatedFiles: summary.underReplicatedFiles,
                underReplicatedBytes: summary.underReplicatedBytes,
                queueCounts: summary.queueCounts))
    }

    /// Every sample taken after `since` (all of them when nil), nodes in id order. Compared in whole milliseconds, the
    /// precision of the labels, so a `t` sent back as `since` excludes exactly that sample and the ones before it.
    func samples(after since: Date?) -> HistorySnapshot {
        let sinceMs = since.map(Self.milliseconds)
        let isNewer: (Date) -> Bool = { time in sinceMs.map { Self.milliseconds(time) > $0 } ?? true }
        return HistorySnapshot(
            nodes: nodeRings.keys.sorted().map { id in (id, nodeRings[id]!.suffix { isNewer($0.time) }) },
            traffic: trafficRing.suffix { isNewer($0.time) },
            replication: replicationRing.suffix { isNewer($0.time) })
    }

    /// Whole milliseconds since 1970: the labels' precision.
    static func milliseconds(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded()) }

    /// `time` to the millisecond, made later than every label before it: labels are unique and grow in the order
    /// samples go in, across series, even when the wall clock steps back. A reader that sends back the newest label it
    /// holds can then miss no sample.
    private mutating func label(_ time: Date) -> Date {
        newestLabel = max(Self.milliseconds(time), newestLabel == .min ? .min : newestLabel + 1)
        return Date(timeIntervalSince1970: Double(newestLabel) / 1000)
    }

    /// Counters only grow; a negative difference would mean a restart of the counting, read as no activity.
    private static func rate(_ delta: Int64, over seconds: Double) -> Double {
        Double(max(0, delta)) / seconds
    }
}

/// How often the replication summary, a query over every file, is sampled: at most once per `interval`, and less
/// often when it is slow, so sampling keeps the metadata store busy at most `maximumShare` of the time (on a store
/// of a million files one summary can take a second).
///
/// A summary's time includes waiting for the store behind other calls (an upload's fsync on a busy machine), so it
/// is judged by the fastest of the last few: one summary that queued behind a burst does not stop the series for
/// twenty seconds, while a store where every summary is slow is sampled less often.
struct SummaryCadence: Sendable, Equatable {
    var interval: Duration = .seconds(1)
    var maximumShare: Double = 0.05
    var remembered = 3
    private var recent: [Duration] = []

    init(interval: Duration = .seconds(1), maximumShare: Double = 0.05) {
        self.interval = interval
        self.maximumShare = maximumShare
    }

    /// The time from the start of one summary to the start of the next, given how long this one took.
    mutating func wait(after took: Duration) -> Duration {
        recent.append(took)
        if recent.count > remembered { recent.removeFirst(recent.count - remembered) }
        return max(interval, recent.min()! * (1 / maximumShare))
    }
}
