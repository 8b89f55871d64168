import DFSCore

/// Decides when a node's UP/DOWN status really changed: a change needs `threshold` consecutive probes that
/// agree, so a node flapping every few seconds does not start a repair storm.
///
/// A node seen for the first time takes its first probe result at once: at startup there is no history to
/// protect and waiting would only delay serving.
struct NodeStatusHysteresis: Sendable, Equatable {
    enum Transition: Sendable, Equatable {
        case cameUp
        case wentDown
    }

    private struct History: Sendable, Equatable {
        var isUp: Bool
        /// Consecutive probes disagreeing with `isUp`.
        var contrary = 0
    }

    let threshold: Int
    private var nodes: [NodeID: History] = [:]

    init(threshold: Int) {
        self.threshold = max(1, threshold)
    }

    /// The confirmed status, nil for a node never probed.
    func isUp(_ node: NodeID) -> Bool? { nodes[node]?.isUp }

    /// Folds one probe result in; returns the transition it confirms, if any.
    mutating func observe(_ node: NodeID, probeSaysUp: Bool) -> Transition? {
        guard var history = nodes[node] else {
            nodes[node] = History(isUp: probeSaysUp)
            return nil
        }
        defer { nodes[node] = history }
        guard probeSaysUp != history.isUp else {
            history.contrary = 0
            return nil
        }
        history.contrary += 1
        guard history.contrary >= threshold else { return nil }
        history = History(isUp: probeSaysUp)
        return probeSaysUp ? .cameUp : .wentDown
    }
}
