import DFSCore
import Synchronization

/// Keys deleted recently, so that a put of one of them that finishes afterwards is discarded instead of bringing the
/// blob back.
///
/// A put can outlive the caller that gave up on it: a node that was paused (SIGSTOP) reads an abandoned upload from
/// its socket when it resumes, and would store it (and replicate it) after the gateway already asked every node to
/// remove that key. Keys are never reused for new content (each upload draws a fresh one), so refusing them is safe.
/// Kept in memory only and bounded: a restart ends every such late put as well.
final class DeletedKeys: Sendable {
    static let maximumKeys = 100_000

    private struct State {
        var keys: Set<FileKey> = []
        /// Insertion order, oldest first from `head`, so the oldest key is the one forgotten when full.
        var order: [FileKey] = []
        var head = 0
    }

    private let state = Mutex(State())

    func insert(_ key: FileKey) {
        state.withLock { state in
            guard state.keys.insert(key).inserted else { return }
            state.order.append(key)
            if state.keys.count > Self.maximumKeys {
                state.keys.remove(state.order[state.head])
                state.head += 1
            }
            // Compact now and then so the order array stays proportional to what it holds.
            if state.head > Self.maximumKeys / 2 {
                state.order.removeFirst(state.head)
                state.head = 0
            }
        }
    }

    func contains(_ key: FileKey) -> Bool { state.withLock { $0.keys.contains(key) } }
}
