import DFSCore
import Foundation

/// What the gateway has measured about one node; the input of every routing decision.
struct NodeScore: Sendable, Equatable {
    var endpoint: NodeEndpoint
    var role: NodeRole
    var isUp: Bool
    /// Peak-sensitive, time-decayed moving average of observed latencies (probes and requests), in ms, as of the
    /// last sample.
    var ewmaLatencyMs: Double?
    /// `ewmaLatencyMs` decayed for the time since that sample (Finagle's peak EWMA does the same on read), so a
    /// node sidelined by one peak is tried again within a few half-lives even if nothing else samples it; set
    /// by the scoreboard when it hands out scores, nil in hand-built ones.
    var currentLatencyMs: Double?
    var inFlight: Int
    var consecutiveFailures: Int
    /// Passive health: set when `consecutiveFailures` reaches `--eject-after`, cleared by the next successful
    /// probe (or a request that succeeds anyway). An ejected node is ranked with DOWN nodes: last resort only.
    var isEjected = false
    /// Bytes per second the node recently delivered while the gateway waited for it (downloads); nil until
    /// a transfer lasted long enough to measure. The yardstick of slow-source detection.
    var throughputBytesPerSecond: Double?
    /// Went DOWN often lately (`NodeStatusHysteresis`): still chosen, but after every steady node, so a node that
    /// keeps going away leads no uploads or downloads while others can.
    var isFlapping = false

    var id: NodeID { endpoint.id }

    /// Whether routing may choose the node ahead of the last-resort group.
    var isSelectable: Bool { isUp && !isEjected }

    /// Lower is better. Latency grows with load (in-flight + 1) and each recent failure doubles it, so a
    /// failing node sinks at once and recovers as probes and requests succeed again.
    var cost: Double {
        let latency = currentLatencyMs ?? ewmaLatencyMs ?? NodeScore.unmeasuredLatencyMs
        let failurePenalty = pow(2.0, Double(min(consecutiveFailures, 10)))
        return latency * Double(inFlight + 1) * failurePenalty
    }

    /// Assumed for a node never measured: middling, so it is tried but not preferred.
    static let unmeasuredLatencyMs = 50.0
}

/// Peak-sensitive, time-decayed EWMA (Finagle's "peak EWMA"). A sample above the average replaces it at once,
/// so a node that just turned slow loses traffic on its very next answer; lower samples blend in with a
/// weight that depends on the time since the previous sample, so the average forgets a peak within a few
/// `halfLife`s whatever the request rate; old measurements must stop steering traffic within seconds.
struct LatencyAverage: Sendable {
    var halfLife: Duration

    func updated(previous: Double?, sample: Double, elapsed: Duration) -> Double {
        guard let previous else { return sample }
        if sample >= previous { return sample }
        let weightOfOld = pow(0.5, max(0, elapsed.inSeconds) / max(0.001, halfLife.inSeconds))
        return previous * weightOfOld + sample * (1 - weightOfOld)
    }

    /// The average `elapsed` after its last sample, as routing sees it: decayed as if a zero sample had arrived.
    func decayed(_ value: Double, elapsed: Duration) -> Double {
        value * pow(0.5, max(0, elapsed.inSeconds) / max(0.001, halfLife.inSeconds))
    }
}

extension Duration {
    var milliseconds: Double { inSeconds * 1000 }
    var inSeconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
