import Histogram

/// A run second by second: the operations that finished in each second of the measured run, their errors, bytes
/// and latency percentiles. Only the current second keeps a histogram; a finished second is reduced to its
/// figures, so memory grows by a few dozen bytes per second of run, not by a histogram.
struct RunTimeline: Sendable {
    /// Second `second` of the run, `[second, second + 1)` after the start (the last one may be shorter).
    struct Second: Codable, Sendable, Equatable {
        var second: Int
        /// Length of this bucket in seconds: 1 except for the run's last, partial second.
        var durationSeconds: Double
        var operations: Int
        var errors: Int
        var mismatches: Int
        var bytes: Int64
        var p50Ms: Double?
        var p99Ms: Double?
        var maxMs: Double?

        var operationsPerSecond: Double { durationSeconds > 0 ? Double(operations) / durationSeconds : 0 }
        var errorsPerSecond: Double { durationSeconds > 0 ? Double(errors + mismatches) / durationSeconds : 0 }

        enum CodingKeys: String, CodingKey {
            case second, operations, errors, mismatches, bytes
            case durationSeconds = "duration_seconds"
            case p50Ms = "p50_ms"
            case p99Ms = "p99_ms"
            case maxMs = "max_ms"
        }

        // A second without a finished operation has null percentiles, never missing ones.
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(second, forKey: .second)
            try container.encode(durationSeconds, forKey: .durationSeconds)
            try container.encode(operations, forKey: .operations)
            try container.encode(errors, forKey: .errors)
            try container.encode(mismatches, forKey: .mismatches)
            try container.encode(bytes, forKey: .bytes)
            try container.encode(p50Ms, forKey: .p50Ms)
            try container.encode(p99Ms, forKey: .p99Ms)
            try container.encode(maxMs, forKey: .maxMs)
        }
    }

    private(set) var finished: [Second] = []
    private var current: Second?
    /// Two significant digits: per-second percentiles for a chart, not for the report's table.
    private var histogram = Histogram<UInt64>(highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: .two)

    mutating func recordSuccess(at elapsed: Duration, latencyMicros: UInt64, bytes: Int64) {
        advance(to: Self.index(elapsed))
        current!.operations += 1
        current!.bytes += bytes
        _ = histogram.record(latencyMicros)
    }

    mutating func recordError(at elapsed: Duration) {
        advance(to: Self.index(elapsed))
        current!.errors += 1
    }

    mutating func recordMismatch(at elapsed: Duration) {
        advance(to: Self.index(elapsed))
        current!.mismatches += 1
    }

    /// Every second from the start to `runLength`, quiet ones included (a stall shows as zero operations).
    func seconds(through runLength: Duration) -> [Second] {
        var timeline = self
        let total = max(0, runLength.inSeconds)
        let last = max(0, Int(total.rounded(.up)) - 1)
        timeline.advance(to: last)
        timeline.close()
        if var final = timeline.finished.last, final.second == last {
            final.durationSeconds = max(0.001, min(1, total - Double(last)))
            timeline.finished[timeline.finished.count - 1] = final
        }
        return timeline.finished.filter { $0.second <= last }
    }

    private static func index(_ elapsed: Duration) -> Int { max(0, Int(elapsed.inSeconds.rounded(.down))) }

    /// Closes the current second (and records empty ones in between) when `index` is past it. A late sample of an
    /// earlier second counts in the current one.
    private mutating func advance(to index: Int) {
        if let current, index <= current.second { return }
        let next = (current?.second ?? -1) + 1
        close()
        for quiet in next..<index { finished.append(Self.empty(quiet)) }
        current = Self.empty(index)
    }

    private mutating func close() {
        guard var second = current else { return }
        if histogram.totalCount > 0 {
            second.p50Ms = Self.milliseconds(histogram.valueAtPercentile(50))
            second.p99Ms = Self.milliseconds(histogram.valueAtPercentile(99))
            second.maxMs = Self.milliseconds(histogram.max)
        }
        finished.append(second)
        histogram.reset()
        current = nil
    }

    private static func empty(_ index: Int) -> Second {
        Second(second: index, durationSeconds: 1, operations: 0, errors: 0, mismatches: 0, bytes: 0, p50Ms: nil, p99Ms: nil, maxMs: nil)
    }

    static func milliseconds(_ micros: UInt64) -> Double { (Double(micros) / 10).rounded() / 100 }
}

extension Duration {
    /// The duration in seconds as a floating-point number.
    var inSeconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
