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
}
