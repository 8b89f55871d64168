/// Decides, from how long the gateway waited for each chunk, whether a download's source has become far slower
/// than that node's recent throughput. Pure: it sees byte counts and waits, never a clock or a
/// socket, so it is tested with plain values.
///
/// Only the time spent waiting for the source counts: a slow client holds the response back between chunks, and
/// that must not make a fast node look slow. A verdict needs a sustained window (`window` of waiting), so small
/// files and short hiccups never trigger it; the stall timeout covers a source that sends nothing at all.
struct SlowSourceDetector: Sendable, Equatable {
    /// A window slower than this share of the node's recent throughput abandons the source.
    var slowFraction: Double
    /// Waiting time that makes a window long enough to judge.
    var window: Duration
    /// A window also closes after this many bytes (a fast node rarely waits a whole `window`), and is then only
    /// measured, never judged; below `minimumMeasuredWait` of waiting it is discarded as noise (buffered bytes).
    var measureEveryBytes: Int64
    var minimumMeasuredWait: Duration
    /// Switching sources costs a request; not worth it for the last few bytes.
    var minimumBytesRemaining: Int64

    private var windowBytes: Int64 = 0
    private var windowWait: Duration = .zero

    init(
        slowFraction: Double = 1.0 / 8, window: Duration = .seconds(1), measureEveryBytes: Int64 = 16 << 20,
        minimumMeasuredWait: Duration = .milliseconds(10), minimumBytesRemaining: Int64 = 1 << 20
    ) {
        self.slowFraction = slowFraction
        self.window = window
        self.measureEveryBytes = measureEveryBytes
        self.minimumMeasuredWait = minimumMeasuredWait
        self.minimumBytesRemaining = minimumBytesRemaining
    }

    enum Verdict: Equatable {
        /// Nothing to report yet.
        case keepGoing
        /// A window was measured at this rate and is fine: fold it into the node's throughput.
        case measured(bytesPerSecond: Double)
        /// A sustained window ran below `slowFraction` of the node's recent throughput: switch sources.
        case tooSlow(bytesPerSecond: Double)
    }

    /// One chunk of `bytes` arrived after waiting `waited` for it.
    /// - Parameters:
    ///   - recentThroughput: the node's recent bytes per second; nil (never measured) disables the judgement.
    ///   - bytesRemaining: what the response still needs after this chunk.
    mutating func delivered(bytes: Int, waited: Duration, recentThroughput: Double?, bytesRemaining: Int64) -> Verdict {
        windowBytes += Int64(bytes)
        windowWait += waited
        let isSustained = windowWait >= window
        guard isSustained || windowBytes >= measureEveryBytes else { return .keepGoing }
        let rate = Double(windowBytes) / max(windowWait.inSeconds, 1e-9)
        let wait = windowWait
        windowBytes = 0
        windowWait = .zero
        if let recentThroughput, rate < recentThroughput * slowFraction {
            // A slow window is never folded in: the yardstick must not sink to the stretch it is judging.
            return isSustained && bytesRemaining >= minimumBytesRemaining ? .tooSlow(bytesPerSecond: rate) : .keepGoing
        }
        return wait >= minimumMeasuredWait ? .measured(bytesPerSecond: rate) : .keepGoing
    }

    /// Starts over, e.g. after switching to another source.
    mutating func reset() {
        windowBytes = 0
        windowWait = .zero
    }
}
