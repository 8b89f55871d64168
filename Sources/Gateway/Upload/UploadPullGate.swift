import NIOCore
import Synchronization

/// Hands the client's body to one node request at a time, and takes it back when that request ends.
///
/// The HTTP client returns as soon as a node answers, and a node may answer before it has read the whole body
/// (it refuses the upload, its disk is full). The client's own task may then still be pulling the next chunk
/// from the request body while the gateway drains that body, answers, or tries the next node: two readers of
/// one body, which Hummingbird's request stream treats as a fatal error (found by schemathesis).
/// `close()` waits for such a pull to finish and makes every later one fail, so once it returns the reader is
/// the caller's alone again.
final class UploadPullGate: Sendable {
    private struct State {
        var isClosed = false
        var isPulling = false
        var closeWaiters: [CheckedContinuation<Void, Never>] = []
    }
    private let state = Mutex(State())

    /// The next chunk `read` returns, unless the gate was closed.
    func pull(_ read: () async throws -> ByteBuffer?) async throws -> ByteBuffer? {
        try state.withLock { state in
            guard !state.isClosed else { throw UploadError.bodyInterrupted("the node request this body was sent on has ended") }
            state.isPulling = true
        }
        defer {
            let waiters = state.withLock { state in
                state.isPulling = false
                defer { state.closeWaiters = [] }
                return state.closeWaiters
            }
            for waiter in waiters { waiter.resume() }
        }
        return try await read()
    }

    /// Stops further pulls and returns once no pull is running.
    func close() async {
        await withCheckedContinuation { continuation in
            let mustWait = state.withLock { state in
                state.isClosed = true
                if state.isPulling { state.closeWaiters.append(continuation) }
                return state.isPulling
            }
            if !mustWait { continuation.resume() }
        }
    }
}
