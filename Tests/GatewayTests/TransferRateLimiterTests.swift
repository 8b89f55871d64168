import DFSClient
import NIOCore
import Testing
import TestSupport

@testable import Gateway

@Suite("Repair bandwidth cap")
struct TransferRateLimiterTests {
    @Test("a throttled stream passes every chunk unchanged and in order")
    func throttlePreservesBytes() async throws {
        let chunks = (0..<5).map { ByteBuffer(bytes: [UInt8](repeating: UInt8($0), count: 100 + $0)) }
        let limiter = TransferRateLimiter(bytesPerSecond: 1 << 30)
        #expect(await limiter.isLimited)
        var received: [ByteBuffer] = []
        for try await chunk in limiter.throttle(AnyByteStream(chunks: chunks)) { received.append(chunk) }
        #expect(received == chunks)
    }

    @Test("without a rate the limiter is a pass-through")
    func unlimited() async throws {
        let limiter = TransferRateLimiter(bytesPerSecond: nil)
        #expect(await limiter.isLimited == false)
        try await limiter.acquire(1 << 40)
    }

    @Test("the cap holds over time: one second of burst, then each byte waits its share of the rate")
    func paceFollowsTheRate() async {
        let clock = ManualTime()
        let limiter = TransferRateLimiter(bytesPerSecond: 1000, time: clock.source)
        #expect(await limiter.reserve(1000) == .zero, "a full bucket passes one second's worth at once")
        #expect(await limiter.reserve(500) == .milliseconds(500), "then the debt is waited off")
        clock.advance(by: .milliseconds(500))
        #expect(await limiter.reserve(250) == .milliseconds(250))
        clock.advance(by: .seconds(10))
        #expect(await limiter.reserve(1000) == .zero, "an idle bucket refills, but only to one second's worth")
        #expect(await limiter.reserve(1) == .milliseconds(1))
    }
}
