import Histogram
import Synchronization

/// Collects per-operation outcomes: latencies in an HdrHistogram (microseconds), bytes, errors, mismatches, and,
/// once `start(at:)` was called, the same second by second (`RunTimeline`) for the report's charts.
final class LatencyRecorder: Sendable {
    struct Snapshot: Sendable {
        var operations: Int
        var bytes: Int64
        var errors: Int
        var mismatches: Int
        var histogram: Histogram<UInt64>
        var errorSamples: [String]
        /// Download answers seen, and how many said (by `x-dfs-hedged`) that the gateway sent a hedged request.
        var downloadAnswers = 0
        var hedgedDownloads = 0
        /// Sum of `x-dfs-failovers` over download answers: replicas the gateway gave up on before one served.
        var failovers = 0
        var timeline = RunTimeline()
    }

    private let state = Mutex(Snapshot(operations: 0, bytes: 0, errors: 0, mismatches: 0,
                                       histogram: Histogram<UInt64>(highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: .three),
                                       errorSamples: []))
    private let startedAt = Mutex<ContinuousClock.Instant?>(nil)

    /// Starts the timeline: outcomes are placed in seconds after `instant` (earlier ones, e.g. seeding, in none).
    func start(at instant: ContinuousClock.Instant) { startedAt.withLock { $0 = instant } }

    /// Time since the start, read when an outcome is recorded; nil before the start.
    private var elapsed: Duration? { startedAt.withLock { $0.map { ContinuousClock.now - $0 } } }

    func recordSuccess(latency: Duration, bytes: Int64) {
        let micros = UInt64(max(1, latency.components.seconds * 1_000_000 + latency.components.attoseconds / 1_000_000_000_000))
        let at = elapsed
        state.withLock { s in
            s.operations += 1
            s.bytes += bytes
            _ = s.histogram.record(micros)
            if let at { s.timeline.recordSuccess(at: at, latencyMicros: micros, bytes: bytes) }
        }
    }

    func recordDownloadHeaders(hedged: Bool, failovers: Int) {
        state.withLock { s in
            s.downloadAnswers += 1
            if hedged { s.hedgedDownloads += 1 }
            s.failovers += failovers
        }
    }

    func recordError(_ description: String) {
        let at = elapsed
        state.withLock { s in
            s.errors += 1
            if s.errorSamples.count < 5 { s.errorSamples.append(description) }
            if let at { s.timeline.recordError(at: at) }
        }
    }

    func recordMismatch(_ description: String) {
        let at = elapsed
        state.withLock { s in
            s.mismatches += 1
            if s.errorSamples.count < 5 { s.errorSamples.append(description) }
            if let at { s.timeline.recordMismatch(at: at) }
        }
    }

    var snapshot: Snapshot { state.withLock { $0 } }
}
