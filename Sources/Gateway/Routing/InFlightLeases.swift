import DFSCore
import Synchronization

/// Requests or responses in flight on each node. Kept apart from the scoreboard actor so a lease can give its slot
/// back synchronously, whenever and however it ends (judged, aborted, or dropped by a client that went away).
final class InFlightCounts: Sendable {
    private let counts = Mutex<[NodeID: Int]>([:])

    func count(on node: NodeID) -> Int { counts.withLock { $0[node] ?? 0 } }

    fileprivate func begin(on node: NodeID) { counts.withLock { $0[node, default: 0] += 1 } }
    fileprivate func end(on node: NodeID) { counts.withLock { $0[node] = max(0, ($0[node] ?? 1) - 1) } }
}

/// One streaming response's slot on a node: counted from creation until `release()` or deinit, whichever is first.
final class StreamLease: Sendable {
    let node: NodeID
    private let counts: InFlightCounts
    private let isReleased = Atomic<Bool>(false)

    init(on node: NodeID, in counts: InFlightCounts) {
        self.node = node
        self.counts = counts
        counts.begin(on: node)
    }

    func release() {
        guard !isReleased.exchange(true, ordering: .acquiringAndReleasing) else { return }
        counts.end(on: node)
    }

    deinit { release() }
}

/// One request's slot on a node, from `LatencyScoreboard.startRequest(on:)` until it is judged or dropped: the node
/// counts it as load meanwhile. The first verdict (`succeeded`, `failed`, `abandoned`) ends it and tells the
/// scoreboard; a lease dropped without one (a task cancelled mid-request) ends silently, so no path can leave a node
/// looking busier than it is.
final class RequestLease: Sendable {
    let node: NodeID
    private let scoreboard: LatencyScoreboard
    private let counts: InFlightCounts
    private let isEnded = Atomic<Bool>(false)

    init(on node: NodeID, scoreboard: LatencyScoreboard, counts: InFlightCounts) {
        self.node = node
        self.scoreboard = scoreboard
        self.counts = counts
        counts.begin(on: node)
    }

    /// The node answered: its failure streak ends, and `latency` (if given) is a sample of its speed.
    func succeeded(latency: Duration?) async {
        guard end() else { return }
        await scoreboard.requestSucceeded(on: node, latency: latency)
    }

    /// The node failed the request: counts towards ejection.
    func failed() async {
        guard end() else { return }
        await scoreboard.requestFailed(on: node)
    }

    /// Given up by us, not by the node (a hedge that lost, a client that left): no verdict. `waited`, if given, is
    /// how long it had not answered, a lower bound of its latency (see `LatencyScoreboard.waitObserved`).
    func abandoned(waited: Duration? = nil) async {
        guard end() else { return }
        if let waited { await scoreboard.waitObserved(on: node, waited: waited) }
    }

    deinit { _ = end() }

    private func end() -> Bool {
        guard !isEnded.exchange(true, ordering: .acquiringAndReleasing) else { return false }
        counts.end(on: node)
        return true
    }
}
