import DFSClient
import NIOCore
import Testing

@Suite("IdleWatch")
struct IdleWatchTests {
    @Test("once the body has ended, the receiver gets extra time to make what it received durable")
    func flushAllowanceAfterEnd() async throws {
        let watch = IdleWatch()
        var chunks = watch.watching(AnyByteStream(chunks: [ByteBuffer(repeating: 0, count: 64 << 20)])).makeAsyncIterator()
        #expect(watch.allowedIdleTime(limit: .seconds(2)) == .seconds(2))
        #expect(try await chunks.next()?.readableBytes == 64 << 20)
        // Still streaming: a receiver that stops reading gets no more than the limit.
        #expect(watch.allowedIdleTime(limit: .seconds(2)) == .seconds(2))
        #expect(try await chunks.next() == nil)
        // 64 MiB at the assumed 128 MiB/s.
        #expect(watch.allowedIdleTime(limit: .seconds(2)) == .milliseconds(2500))
    }

    @Test("time spent waiting for the sender's bytes is not idle")
    func waitingForDataIsNotIdle() {
        let watch = IdleWatch()
        watch.beginWaitingForData()
        #expect(watch.idleTime(at: .now + .seconds(10)) == .zero)
        watch.endWaitingForData()
        #expect(watch.idleTime(at: .now + .seconds(10)) > .seconds(9))
    }

    @Test("an idle receiver that answers health checks is waited for; one that does not is abandoned at the limit")
    func livenessKeepsABusyReceiver() async throws {
        let busy = IdleWatch()
        let outcome = await withTaskGroup(of: Bool.self) { group in
            group.addTask { (try? await busy.expire(after: .milliseconds(100)) { _ in true }) != nil }
            group.addTask {
                try? await Task.sleep(for: .milliseconds(600))
                return false
            }
            defer { group.cancelAll() }
            return await group.next()!
        }
        // The 600 ms timer, six times the limit, ended the race: the busy receiver was never abandoned.
        #expect(outcome == false)

        let hung = IdleWatch()
        await #expect(throws: IdleTimeout.self) {
            try await hung.expire(after: .milliseconds(100)) { within in
                try? await Task.sleep(for: within + .seconds(3600))
                return true
            }
        }
    }
}
