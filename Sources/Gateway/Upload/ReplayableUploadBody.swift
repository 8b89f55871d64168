import DFSClient
import NIOCore
import Synchronization

/// The client's upload body as it is handed to primary nodes, one attempt at a time, keeping the bytes sent so far
/// (while the body fits the policy's limit and the shared budget) so that an attempt whose node stalled can be sent
/// again, from the first byte, to another node.
///
/// The client's bytes are read, hashed and counted once: a replay sends the kept chunks, then goes on reading.
/// `@unchecked Sendable`: the reader is only ever used by the single pull that an attempt's `UploadPullGate` lets
/// through (and by the coordinator once that gate is closed); the kept chunks are behind a lock.
final class ReplayableUploadBody: @unchecked Sendable {
    private struct Kept {
        var chunks: [ByteBuffer] = []
        var bytes: Int64 = 0
        /// False once the body outgrew the limit or the budget: from then on nothing is kept.
        var isComplete: Bool
    }

    let reader: UploadBodyReader
    private let policy: ReplayPolicy
    private let kept: Mutex<Kept>

    /// - Parameter declaredLength: a body announced larger than the limit is not kept at all.
    init(reader: UploadBodyReader, policy: ReplayPolicy, declaredLength: Int64?) {
        self.reader = reader
        self.policy = policy
        let fits = policy.bufferLimit > 0 && (declaredLength ?? 0) <= policy.bufferLimit
        kept = Mutex(Kept(isComplete: fits))
    }

    deinit { release() }

    /// Whether a failed attempt can be sent again in full: no byte left the gateway yet, or all of them are kept.
    var canReplay: Bool { !reader.hasDeliveredBytes || kept.withLock(\.isComplete) }

    /// Bytes held for replay now.
    var keptBytes: Int64 { kept.withLock(\.bytes) }

    /// The body for one attempt: the kept chunks, then the client's next ones, pulled through `gate`.
    func attempt(through gate: UploadPullGate) -> Attempt { Attempt(body: self, gate: gate) }

    /// Gives the kept bytes back to the budget; nothing is kept afterwards.
    func release() {
        let freed = kept.withLock { kept in
            defer { kept = Kept(isComplete: false) }
            return kept.bytes
        }
        if freed > 0 { policy.budget.release(freed) }
    }

    fileprivate func chunk(at index: Int, through gate: UploadPullGate) async throws -> ByteBuffer? {
        if let replayed = kept.withLock({ index < $0.chunks.count ? $0.chunks[index] : nil }) { return replayed }
        return try await gate.pull { try await self.nextFromClient() }
    }

    private func nextFromClient() async throws -> ByteBuffer? {
        guard let chunk = try await reader.nextFileChunk() else { return nil }
        keep(chunk)
        return chunk
    }

    private func keep(_ chunk: ByteBuffer) {
        let size = Int64(chunk.readableBytes)
        let fitsLimit = kept.withLock { $0.isComplete && $0.bytes + size <= policy.bufferLimit }
        // Reserved outside the lock; only the one pull the gate lets through ever gets here, so nothing races it.
        if fitsLimit, policy.budget.reserve(size) {
            kept.withLock { kept in
                kept.chunks.append(chunk)
                kept.bytes += size
            }
            return
        }
        // Too large, or the budget is used up: this body can no longer be sent again, so keep none of it.
        release()
    }

    /// One attempt's view of the body.
    struct Attempt: AsyncSequence, Sendable {
        typealias Element = ByteBuffer
        let body: ReplayableUploadBody
        let gate: UploadPullGate

        struct AsyncIterator: AsyncIteratorProtocol {
            let body: ReplayableUploadBody
            let gate: UploadPullGate
            var index = 0

            mutating func next() async throws -> ByteBuffer? {
                guard let chunk = try await body.chunk(at: index, through: gate) else { return nil }
                index += 1
                return chunk
            }
        }

        func makeAsyncIterator() -> AsyncIterator { AsyncIterator(body: body, gate: gate) }
    }
}
