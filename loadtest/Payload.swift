import DFSCore
import NIOCore
import Synchronization

/// Upload bodies generated on the fly: one random block, each chunk stamped with the file's seed and its
/// index, so every file differs and the tool holds one chunk at a time whatever the file size.
struct Payload: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    static let chunkSize = 256 << 10

    let block: [UInt8]
    let seed: UInt64
    let size: Int

    struct AsyncIterator: AsyncIteratorProtocol {
        let payload: Payload
        var produced = 0
        var index: UInt64 = 0

        mutating func nextChunk() -> ByteBuffer? {
            guard produced < payload.size else { return nil }
            let length = Swift.min(Payload.chunkSize, payload.size - produced)
            var buffer = ByteBuffer(bytes: payload.block[0..<length])
            if length >= 16 {
                buffer.setInteger(payload.seed, at: 0)
                buffer.setInteger(index, at: 8)
            }
            produced += length
            index += 1
            return buffer
        }

        mutating func next() async -> ByteBuffer? { nextChunk() }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(payload: self) }
}

enum RandomBlock {
    static func make(count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }
}

/// Collects the digest of an upload body as the HTTP client pulls it.
final class DigestSink: Sendable {
    private let hasher = Mutex(StreamingSHA256())

    func update(_ chunk: ByteBuffer) { hasher.withLock { $0.update(chunk) } }

    func finalize() -> (digest: SHA256Digest, byteCount: Int64) {
        hasher.withLock { ($0.finalize(), $0.byteCount) }
    }
}

/// A `Payload` that feeds each chunk to a `DigestSink` on its way out.
struct HashingPayload: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let payload: Payload
    let sink: DigestSink

    struct AsyncIterator: AsyncIteratorProtocol {
        var chunks: Payload.AsyncIterator
        let sink: DigestSink

        mutating func next() async -> ByteBuffer? {
            guard let chunk = chunks.nextChunk() else { return nil }
            sink.update(chunk)
            return chunk
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(chunks: payload.makeAsyncIterator(), sink: sink) }
}
