import DFSCore
import Foundation

/// What the gateway has measured about one node; the input of every routing decision (SPEC §5).
struct NodeScore: Sendable, Equatable {
    var endpoint: NodeEndpoint
    var role: NodeRole
    var isUp: Bool
    /// Exponentially weighted moving average of observed latencies (probes and requests), in ms.
    var ewmaLatencyMs: Double?
    var inFlight: Int
    var consecutiveFailures: Int

    var id: NodeID { endpoint.id }

    /// Lower is better. Latency grows with load (in-flight + 1) and each recent failure doubles it, so a
    /// failing node sinks at once and recovers as probes and requests succeed again.
    var cost: Double {
        let latency = ewmaLatencyMs ?? NodeScore.unmeasuredLatencyMs
        let failurePenalty = pow(2.0, Double(min(consecutiveFailures, 10)))
        return latency * Double(inFlight + 1) * failurePenalty
    }

    /// Assumed for a node never measured: middling, so it is tried but not preferred.
    static let unmeasuredLatencyMs = 50.0
}

/// Time-decayed EWMA: a sample's weight depends on how long since the previous one, so the average
/// forgets within `halfLife` whatever the request rate (SPEC §5: "decaying within seconds").
struct LatencyAverage: Sendable {
    var halfLife: Duration

    func updated(previous: Double?, sample: Double, elapsed: Duration) -> Double {
        guard let previous else { return sample }
        let elapsedSeconds = max(0, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
        let halfLifeSeconds = max(0.001, Double(halfLife.components.seconds) + Double(halfLife.components.attoseconds) / 1e18)
        let weightOfOld = pow(0.5, elapsedSeconds / halfLifeSeconds)
        return previous * weightOfOld + sample * (1 - weightOfOld)
    }
}
