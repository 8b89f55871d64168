import Synchronization

/// Group commit: writes that arrive while a batch is being made durable wait, and go together into the next one,
/// so one flush (SQLite's WAL fsync under `synchronous=FULL`, a node's `syncfs`) makes a whole batch durable
/// instead of one write each. Every writer still returns only once its own write is committed; one writer's
/// failure (a key that exists) fails that writer alone, a failed flush fails the whole batch.
///
/// Batches run one at a time: a write that arrives during a flush would otherwise wait for a flush of its own
/// behind it, and now joins the next batch instead.
public final class GroupCommit<Job: Sendable>: Sendable {
    /// Commits `jobs` in one transaction and returns each job's outcome, in order.
    public typealias CommitBatch = @Sendable (_ jobs: [Job]) async -> [Result<Void, any Error>]

    private struct Waiting: Sendable {
        var job: Job
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct State: Sendable {
        var waiting: [Waiting] = []
        var isCommitting = false
    }

    private let state = Mutex(State())
    private let maximumBatch: Int

    public init(maximumBatch: Int = 256) {
        precondition(maximumBatch > 0)
        self.maximumBatch = maximumBatch
    }

    /// Returns once `job` is committed, or throws its own error or the batch's.
    /// - Parameter commitBatch: how a batch is committed (the same function for every job of one `GroupCommit`;
    ///   passed here so the store that owns this queue can hand over its own method).
    public func submit(_ job: Job, committingWith commitBatch: @escaping CommitBatch) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let startsCommitting = state.withLock { state -> Bool in
                state.waiting.append(Waiting(job: job, continuation: continuation))
                guard !state.isCommitting else { return false }
                state.isCommitting = true
                return true
            }
            // The committing task ends as soon as nothing waits; every submitter awaits its batch, so it never
            // outlives the requests that fed it (a graceful shutdown waits for them).
            if startsCommitting { Task { await self.commitUntilNothingWaits(using: commitBatch) } }
        }
    }

    private func commitUntilNothingWaits(using commitBatch: CommitBatch) async {
        while true {
            let batch = state.withLock { state -> [Waiting] in
                let batch = Array(state.waiting.prefix(maximumBatch))
                state.waiting.removeFirst(batch.count)
                if batch.isEmpty { state.isCommitting = false }
                return batch
            }
            guard !batch.isEmpty else { return }
            let outcomes = await commitBatch(batch.map(\.job))
            precondition(outcomes.count == batch.count, "one outcome per job")
            for (waiting, outcome) in zip(batch, outcomes) { waiting.continuation.resume(with: outcome) }
        }
    }
}
