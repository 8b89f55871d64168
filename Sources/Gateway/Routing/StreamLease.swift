import DFSCore
import Synchronization

/// Responses currently streaming from each node. Kept apart from the scoreboard actor so a stream can give its slot
/// back synchronously, whenever and however it ends (finished, aborted, or dropped by a client that went away).
final class StreamingCounts: Sendable {
    private let counts = Mutex<[NodeID: Int]>([:])

    func count(on node: NodeID) -> Int { counts.withLock { $0[node] ?? 0 } }

    fileprivate func begin(on node: NodeID) { counts.withLock { $0[node, default: 0] += 1 } }
    fileprivate func end(on node: NodeID) { counts.withLock { $0[node] = max(0, ($0[node] ?? 1) - 1) } }
}

/// One streaming response's slot on a node: counted from creation until `release()` or deinit, whichever is first.
final class StreamLease: Sendable {
    let node: NodeID
    private let counts: StreamingCounts
    private let isReleased = Atomic<Bool>(false)

    init(on node: NodeID, in counts: StreamingCounts) {
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
