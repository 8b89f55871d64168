import DFSCore
import Synchronization
import Testing

@Suite("Group commit")
struct GroupCommitTests {
    /// Counts what the commit function saw.
    final class CommitLog: Sendable {
        let batches = Mutex<[[Int]]>([])
    }

    @Test("writes arriving during a commit share the next one; every writer gets its own outcome")
    func batchesConcurrentWrites() async throws {
        let commits = GroupCommit<Int>(maximumBatch: 16)
        let log = CommitLog()
        let commitBatch: GroupCommit<Int>.CommitBatch = { jobs in
            log.batches.withLock { $0.append(jobs) }
            // Stands for the log flush: long enough for the other writers to queue up behind it.
            try? await Task.sleep(for: .milliseconds(20))
            return jobs.map { $0 % 7 == 3 ? .failure(Refused(job: $0)) : .success(()) }
        }
        let outcomes = await withTaskGroup(of: (Int, Bool).self) { group in
            for job in 0..<100 {
                group.addTask {
                    do {
                        try await commits.submit(job, committingWith: commitBatch)
                        return (job, true)
                    } catch let refused as Refused {
                        #expect(refused.job == job, "a writer gets its own job's error")
                        return (job, false)
                    } catch {
                        Issue.record("unexpected \(error)")
                        return (job, false)
                    }
                }
            }
            return await group.reduce(into: [Int: Bool]()) { $0[$1.0] = $1.1 }
        }
        #expect(outcomes.count == 100)
        for (job, committed) in outcomes { #expect(committed == (job % 7 != 3), "job \(job)") }
        let batches = log.batches.withLock { $0 }
        #expect(batches.flatMap { $0 }.sorted() == Array(0..<100), "every job committed exactly once")
        #expect(batches.allSatisfy { $0.count <= 16 })
        #expect(batches.count < 100, "some writes shared a commit (\(batches.map(\.count)))")
    }

    @Test("a failed commit fails each writer of its batch, and later writes commit again")
    func failedCommit() async throws {
        let commits = GroupCommit<Int>()
        await #expect(throws: Refused.self) {
            try await commits.submit(1) { jobs in jobs.map { _ in .failure(Refused(job: -1)) } }
        }
        try await commits.submit(2) { jobs in jobs.map { _ in .success(()) } }
    }

    struct Refused: Error, Equatable {
        let job: Int
    }
}
