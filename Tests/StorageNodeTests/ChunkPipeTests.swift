@testable import StorageNode
import NIOCore
import Testing

@Suite("ChunkPipe back-pressure")
struct ChunkPipeTests {
    @Test("delivers every chunk in order and ends")
    func deliversInOrder() async throws {
        let pipe = ChunkPipe(capacity: 2)
        async let received: [String] = {
            var out: [String] = []
            for try await chunk in pipe { out.append(String(buffer: chunk)) }
            return out
        }()
        for index in 0..<50 { #expect(await pipe.send(ByteBuffer(string: "\(index)"))) }
        pipe.finish()
        #expect(try await received == (0..<50).map(String.init))
    }

    @Test("a consumer that gives up frees a blocked producer")
    func cancelledConsumerFreesProducer() async {
        let pipe = ChunkPipe(capacity: 1)
        #expect(await pipe.send(ByteBuffer(string: "a")) == true)  // fills the pipe
        async let blocked = pipe.send(ByteBuffer(string: "b"))
        pipe.cancel()
        #expect(await blocked == false)
        #expect(await pipe.send(ByteBuffer(string: "c")) == false)
    }

    @Test("a producer failure reaches the consumer")
    func failurePropagates() async {
        struct Broken: Error {}
        let pipe = ChunkPipe(capacity: 4)
        _ = await pipe.send(ByteBuffer(string: "a"))
        pipe.finish(throwing: Broken())
        await #expect(throws: Broken.self) {
            for try await _ in pipe {}
        }
    }
}
