import NIOCore
import Synchronization

/// A bounded single-producer, single-consumer pipe of `ByteBuffer`s with back-pressure.
///
/// The node's primary put fans one incoming stream out to several replication targets: it `send`s
/// each chunk to every target's pipe and waits while a pipe is full, so memory stays bounded by
/// `capacity` chunks per target. When the consumer gives up (`cancel`, e.g. its request failed),
/// pending and later `send`s return `false` at once, so a dead target never stalls the others.
final class ChunkPipe: Sendable, AsyncSequence {
    typealias Element = ByteBuffer
    typealias Failure = any Error

    private struct State {
        var buffer: [ByteBuffer] = []
        var finished = false
        var failure: (any Error)?
        var consumerGone = false
        var waitingConsumer: CheckedContinuation<Take, Never>?
        var waitingProducer: CheckedContinuation<Bool, Never>?

        /// The next buffered chunk (waking a producer blocked on a full pipe), the end, or nil to wait.
        mutating func take() -> Take? {
            if !buffer.isEmpty {
                let chunk = buffer.removeFirst()
                if let producer = waitingProducer {
                    waitingProducer = nil
                    producer.resume(returning: true)
                }
                return .chunk(chunk)
            }
            if finished { return failure.map { .fail($0) } ?? .end }
            return nil
        }

        /// The consumer is gone: drop what is buffered and release whoever waits.
        mutating func consumerLeft(failingWaitingConsumer: Bool) {
            consumerGone = true
            buffer.removeAll()
            if failingWaitingConsumer, let consumer = waitingConsumer {
                waitingConsumer = nil
                consumer.resume(returning: .fail(CancellationError()))
            }
            if let producer = waitingProducer {
                waitingProducer = nil
                producer.resume(returning: false)
            }
        }
    }

    private let capacity: Int
    private let state = Mutex(State())

    init(capacity: Int = 4) {
        precondition(capacity > 0)
        self.capacity = capacity
    }

    /// Hands a chunk to the consumer; waits while `capacity` chunks are already queued.
    /// Returns `false` if the consumer is gone (the chunk is dropped).
    @discardableResult
    func send(_ chunk: ByteBuffer) async -> Bool {
        while true {
            enum Step { case done(Bool), wait }
            let step: Step = state.withLock { s in
                if s.consumerGone { return .done(false) }
                if let consumer = s.waitingConsumer {
                    s.waitingConsumer = nil
                    consumer.resume(returning: .chunk(chunk))
                    return .done(true)
                }
                if s.buffer.count < capacity {
                    s.buffer.append(chunk)
                    return .done(true)
                }
                return .wait
            }
            if case .done(let delivered) = step { return delivered }
            // Full: sleep until the consumer takes a chunk (or leaves), then try again.
            let consumerPresent = await withCheckedContinuation { continuation in
                let resumeNow: Bool? = state.withLock { s in
                    if s.consumerGone { return false }
                    if s.buffer.count < capacity { return true }
                    s.waitingProducer = continuation
                    return nil
                }
                if let resumeNow { continuation.resume(returning: resumeNow) }
            }
            if !consumerPresent { return false }
        }
    }

    /// Ends the stream; `error` makes the consumer's iteration throw (the producer's source failed).
    func finish(throwing error: (any Error)? = nil) {
        state.withLock { s in
            s.finished = true
            s.failure = error
            if let consumer = s.waitingConsumer {
                s.waitingConsumer = nil
                consumer.resume(returning: error.map { .fail($0) } ?? .end)
            }
        }
    }

    /// Called by the consumer when it stops reading: frees a waiting producer and drops buffered chunks.
    func cancel() {
        state.withLock { $0.consumerLeft(failingWaitingConsumer: false) }
    }

    private enum Take {
        case chunk(ByteBuffer)
        case end
        case fail(any Error)
    }

    func next() async throws -> ByteBuffer? {
        let immediate: Take? = state.withLock { $0.take() }
        let outcome: Take
        if let immediate {
            outcome = immediate
        } else {
            outcome = await withTaskCancellationHandler {
                await withCheckedContinuation { (continuation: CheckedContinuation<Take, Never>) in
                    let ready: Take? = state.withLock { s in
                        if let taken = s.take() { return taken }
                        if s.consumerGone { return .fail(CancellationError()) }
                        s.waitingConsumer = continuation
                        return nil
                    }
                    if let ready { continuation.resume(returning: ready) }
                }
            } onCancel: {
                state.withLock { $0.consumerLeft(failingWaitingConsumer: true) }
            }
        }
        switch outcome {
        case .chunk(let chunk): return chunk
        case .end: return nil
        case .fail(let error): throw error
        }
    }

    struct AsyncIterator: AsyncIteratorProtocol {
        let pipe: ChunkPipe
        mutating func next() async throws -> ByteBuffer? { try await pipe.next() }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(pipe: self) }
}
