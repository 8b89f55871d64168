import Histogram
import Synchronization

/// Collects per-operation outcomes: latencies in an HdrHistogram (microseconds), bytes, errors, mismatches.
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
    }

    private let state = Mutex(Snapshot(operations: 0, bytes: 0, errors: 0, mismatches: 0,
                                       histogram: Histogram<UInt64>(highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: .three),
                                       errorSamples: []))

    func recordSuccess(latency: Duration, bytes: Int64) {
        let micros = UInt64(max(1, latency.components.seconds * 1_000_000 + latency.components.attoseconds / 1_000_000_000_000))
        state.withLock { s in
            s.operations += 1
            s.bytes += bytes
            _ = s.histogram.record(micros)
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
        state.withLock { s in
            s.errors += 1
            if s.errorSamples.count < 5 { s.errorSamples.append(description) }
        }
    }

    func recordMismatch(_ description: String) {
        state.withLock { s in
            s.mismatches += 1
            if s.errorSamples.count < 5 { s.errorSamples.append(description) }
        }
    }

    var snapshot: Snapshot { state.withLock { $0 } }
}
