import DFSCore

/// Decides when a node's UP/DOWN status really changed, and which nodes are flapping.
///
/// Going DOWN needs `threshold` consecutive failed probes: one lost probe must not start repairs. Coming back is
/// at once: a node that answers again can hold copies and serve, and every second it is left out is a second in
/// which new files get fewer copies. What is damped instead is a node that keeps going away: one that went DOWN
/// `damping.flapLimit` times within `damping.window` is *flapping* until it has answered without a break for
/// `damping.hold`, and the recovery loop spends no inventory listing on it meanwhile (see `NodeAvailability`).
///
/// A node seen for the first time takes its first probe result at once: at startup there is no history to
/// protect and waiting would only delay serving.
struct NodeStatusHysteresis: Sendable, Equatable {
    enum Transition: Sendable, Equatable {
        case cameUp
        case wentDown
    }

    struct Damping: Sendable, Equatable {
        /// Confirmed DOWNs within `window` that make a node flapping.
        var flapLimit = 3
        var window: Duration = .seconds(600)
        /// How long a flapping node must answer without a break before it counts as steady again.
        var hold: Duration = .seconds(10)
    }

    private struct History: Sendable, Equatable {
        var isUp: Bool
        /// Consecutive probes disagreeing with `isUp`.
        var contrary = 0
        /// When it was confirmed DOWN, within the damping window.
        var wentDownAt: [ContinuousClock.Instant] = []
        /// The first probe of its current unbroken run of answers; nil while it does not answer.
        var answeringSince: ContinuousClock.Instant?
    }

    let threshold: Int
    let damping: Damping
    private var nodes: [NodeID: History] = [:]

    init(threshold: Int, damping: Damping = Damping()) {
        self.threshold = max(1, threshold)
        self.damping = damping
    }

    /// The confirmed status, nil for a node never probed.
    func isUp(_ node: NodeID) -> Bool? { nodes[node]?.isUp }

    /// Whether `node` went DOWN often enough lately, and has not answered for long enough since, to be left alone
    /// by the work a return would normally start.
    func isFlapping(_ node: NodeID, at now: ContinuousClock.Instant) -> Bool {
        guard let history = nodes[node] else { return false }
        let recentDowns = history.wentDownAt.filter { now - $0 < damping.window }.count
        guard recentDowns >= damping.flapLimit else { return false }
        guard history.isUp, let since = history.answeringSince else { return true }
        return now - since < damping.hold
    }

    /// Folds one probe result taken at `now` in; returns the transition it confirms, if any.
    mutating func observe(_ node: NodeID, probeSaysUp: Bool, at now: ContinuousClock.Instant) -> Transition? {
        guard var history = nodes[node] else {
            nodes[node] = History(isUp: probeSaysUp, answeringSince: probeSaysUp ? now : nil)
            return nil
        }
        defer { nodes[node] = history }
        if probeSaysUp {
            if history.answeringSince == nil { history.answeringSince = now }
        } else {
            history.answeringSince = nil
        }
        history.wentDownAt.removeAll { now - $0 >= damping.window }
        guard probeSaysUp != history.isUp else {
            history.contrary = 0
            return nil
        }
        if probeSaysUp {
            history.isUp = true
            history.contrary = 0
            return .cameUp
        }
        history.contrary += 1
        guard history.contrary >= threshold else { return nil }
        history.isUp = false
        history.contrary = 0
        history.wentDownAt.append(now)
        return .wentDown
    }
}
