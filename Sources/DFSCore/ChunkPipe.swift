import NIOCore
import Synchronization

/// A bounded single-producer, single-consumer pipe of `ByteBuffer`s with back-pressure.
///
/// The node's primary put fans one incoming stream out to several replication targets: it `send`s
/// each chunk to every target's pipe and waits while a pipe is full, so memory stays bounded by
/// `capacity` chunks per target. When the consumer gives up (`cancel`, e.g. its request failed),
/// pending and later `send`s return `false` at once, so a dead target never stalls the others.
public final class ChunkPipe: Sendable, AsyncSequence {
    public typealias Element = ByteBuffer
    public typealias Failure = any Error

    private struct State {
        var buffer: [ByteBuffer] = []
        var finished = false
        var failure: (any Error)?
        var consumerGone = false
        var waitingConsumer: CheckedContinuation<ByteBuffer?, any Error>?
        var waitingProducer: CheckedContinuation<Bool, Never>?
    }

    private let capacity: Int
    private let state = Mutex(State())

    public init(capacity: Int = 4) {
        precondition(capacity > 0)
        self.capacity = capacity
    }

    /// Hands a chunk to the consumer; waits while `capacity` chunks are already queued.
    /// Returns `false` if the consumer is gone (the chunk is dropped).
    @discardableResult
    public func send(_ chunk: ByteBuffer) async -> Bool {
        while true {
            enum Step { case done(Bool), wait }
            let step: Step = state.withLock { s in
                if s.consumerGone { return .done(false) }
                if let consumer = s.waitingConsumer {
                    s.waitingConsumer = nil
                    consumer.resume(returning: chunk)
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
    public func finish(throwing error: (any Error)? = nil) {
        state.withLock { s in
            s.finished = true
            s.failure = error
            if let consumer = s.waitingConsumer {
                s.waitingConsumer = nil
                if let error { consumer.resume(throwing: error) } else { consumer.resume(returning: nil) }
            }
        }
    }

    /// Called by the consumer when it stops reading: frees a waiting producer and drops buffered chunks.
    public func cancel() {
        state.withLock { s in
            s.consumerGone = true
            s.buffer.removeAll()
            if let producer = s.waitingProducer {
                s.waitingProducer = nil
                producer.resume(returning: false)
            }
        }
    }

    func next() async throws -> ByteBuffer? {
        enum Step { case chunk(ByteBuffer), end, fail(any Error), wait }
        let step: Step = state.withLock { s in
            if !s.buffer.isEmpty {
                let chunk = s.buffer.removeFirst()
                if let producer = s.waitingProducer {
                    s.waitingProducer = nil
                    producer.resume(returning: true)
                }
                return .chunk(chunk)
            }
            if s.finished { return s.failure.map { .fail($0) } ?? .end }
            return .wait
        }
        switch step {
        case .chunk(let chunk): return chunk
        case .end: return nil
        case .fail(let error): throw error
        case .wait:
            return try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { continuation in
                    let immediate: Step? = state.withLock { s in
                        if !s.buffer.isEmpty {
                            let chunk = s.buffer.removeFirst()
                            if let producer = s.waitingProducer {
                                s.waitingProducer = nil
                                producer.resume(returning: true)
                            }
                            return .chunk(chunk)
                        }
                        if s.finished { return s.failure.map { .fail($0) } ?? .end }
                        if s.consumerGone { return .fail(CancellationError()) }
                        s.waitingConsumer = continuation
                        return nil
                    }
                    switch immediate {
                    case .chunk(let chunk): continuation.resume(returning: chunk)
                    case .end: continuation.resume(returning: nil)
                    case .fail(let error): continuation.resume(throwing: error)
                    case .wait, nil: break
                    }
                }
            } onCancel: {
                self.cancelWaitingConsumer()
            }
        }
    }

    private func cancelWaitingConsumer() {
        state.withLock { s in
            s.consumerGone = true
            s.buffer.removeAll()
            if let consumer = s.waitingConsumer {
                s.waitingConsumer = nil
                consumer.resume(throwing: CancellationError())
            }
            if let producer = s.waitingProducer {
                s.waitingProducer = nil
                producer.resume(returning: false)
            }
        }
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let pipe: ChunkPipe
        public mutating func next() async throws -> ByteBuffer? { try await pipe.next() }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(pipe: self) }
}
