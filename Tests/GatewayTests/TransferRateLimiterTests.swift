import DFSClient
import NIOCore
import Testing

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
}
