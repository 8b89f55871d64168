import DFSClient
import NIOCore
import Synchronization
import Testing

@testable import Gateway

/// The download path's per-stream watchdog, against sources the test controls.
@Suite("Watched source")
struct WatchedSourceTests {
    /// A source that yields what the test sends and notices when its reader gives up on it: by cancelling a read
    /// or by letting go of the iterator (what ends an HTTP body's request).
    final class ControlledSource: Sendable {
        let stream: AsyncThrowingStream<ByteBuffer, any Error>
        let continuation: AsyncThrowingStream<ByteBuffer, any Error>.Continuation
        private let abandoned = Flag()

        final class Flag: Sendable {
            let value = Atomic<Bool>(false)
        }

        /// Marks the source abandoned when the iterator holding it is released.
        final class ReleaseTracker: Sendable {
            let flag: Flag
            init(_ flag: Flag) { self.flag = flag }
            deinit { flag.value.store(true, ordering: .releasing) }
        }

        struct Tracked: AsyncSequence, Sendable {
            let stream: AsyncThrowingStream<ByteBuffer, any Error>
            let flag: Flag

            struct AsyncIterator: AsyncIteratorProtocol {
                var inner: AsyncThrowingStream<ByteBuffer, any Error>.AsyncIterator
                let tracker: ReleaseTracker
                mutating func next() async throws -> ByteBuffer? { try await inner.next() }
            }

            func makeAsyncIterator() -> AsyncIterator {
                AsyncIterator(inner: stream.makeAsyncIterator(), tracker: ReleaseTracker(flag))
            }
        }

        init() {
            (stream, continuation) = AsyncThrowingStream.makeStream(of: ByteBuffer.self)
            continuation.onTermination = { [abandoned] _ in abandoned.value.store(true, ordering: .releasing) }
        }

        var wasAbandoned: Bool { abandoned.value.load(ordering: .acquiring) }
        var iterator: AnyByteStream.AsyncIterator { AnyByteStream(Tracked(stream: stream, flag: abandoned)).makeAsyncIterator() }
    }

    func chunk(_ text: String) -> ByteBuffer { ByteBuffer(string: text) }

    @Test("chunks arrive in order, then the end")
    func passesChunksThrough() async {
        let source = ControlledSource()
        for text in ["a", "bc", "def"] { source.continuation.yield(chunk(text)) }
        source.continuation.finish()
        let watched = WatchedSource(source.iterator, stallTimeout: .seconds(5))
        var seen: [String] = []
        while case .chunk(let buffer) = await watched.next() { seen.append(String(buffer: buffer)) }
        #expect(seen == ["a", "bc", "def"])
    }

    @Test("a wait longer than the stall timeout ends as stalled, and the source is abandoned")
    func stallIsReported() async throws {
        let source = ControlledSource()
        source.continuation.yield(chunk("first"))
        let watched = WatchedSource(source.iterator, stallTimeout: .milliseconds(200))
        guard case .chunk = await watched.next() else { Issue.record("no first chunk"); return }
        let started = ContinuousClock.now
        let outcome = await watched.next()
        let waited = ContinuousClock.now - started
        guard case .stalled = outcome else { Issue.record("expected a stall, got \(outcome)"); return }
        #expect(waited >= .milliseconds(200))
        #expect(waited < .seconds(2))
        for _ in 0..<100 where !source.wasAbandoned { try await Task.sleep(for: .milliseconds(10)) }
        #expect(source.wasAbandoned)
    }

    @Test("an unwatched wait outlasts the stall timeout")
    func unwatchedWaitDoesNotStall() async throws {
        let source = ControlledSource()
        let watched = WatchedSource(source.iterator, stallTimeout: .milliseconds(100))
        Task {
            try await Task.sleep(for: .milliseconds(500))
            source.continuation.finish()
        }
        let outcome = await watched.next(watched: false)
        guard case .end = outcome else { Issue.record("expected the end, got \(outcome)"); return }
    }

    @Test("a source error is passed on as failed")
    func errorIsPassedOn() async {
        struct Broken: Error {}
        let source = ControlledSource()
        source.continuation.finish(throwing: Broken())
        let watched = WatchedSource(source.iterator, stallTimeout: .seconds(5))
        guard case .failed(let error) = await watched.next() else { Issue.record("expected a failure"); return }
        #expect(error is Broken)
    }

    @Test("cancelling the reader ends its wait at once and abandons the source")
    func readerCancellation() async throws {
        let source = ControlledSource()
        let watched = WatchedSource(source.iterator, stallTimeout: .seconds(30))
        let reader = Task { await watched.next() }
        try await Task.sleep(for: .milliseconds(100))
        reader.cancel()
        let outcome = await reader.value
        guard case .failed(let error) = outcome else { Issue.record("expected a failure, got \(outcome)"); return }
        #expect(error is CancellationError)
        for _ in 0..<100 where !source.wasAbandoned { try await Task.sleep(for: .milliseconds(10)) }
        #expect(source.wasAbandoned)
    }

    /// A source whose reads never suspend (a fake node's body from memory) lets the pump read ahead as fast as the
    /// consumer takes chunks: a pump woken for the wrong slot once overwrote a chunk not yet taken (one 1,000-byte
    /// chunk of 50 lost, seen once in CI). The race is narrow, so this drains many sources from competing tasks;
    /// the debug build's assertion in `deliver` also stops any overwrite where it happens.
    @Test("sources read ahead from memory hand over every chunk, in order, under competing readers")
    func readAheadLosesNoChunk() async {
        let lost = await withTaskGroup(of: Int.self) { group in
            for reader in 0..<4 {
                group.addTask {
                    var lost = 0
                    for _ in 0..<300 {
                        let chunks = (0..<50).map { ByteBuffer(integer: UInt16($0 + reader)) }
                        let watched = WatchedSource(AnyByteStream(chunks: chunks).makeAsyncIterator(), stallTimeout: .seconds(30))
                        var seen: [ByteBuffer] = []
                        while case .chunk(let buffer) = await watched.next() { seen.append(buffer) }
                        if seen != chunks { lost += 1 }
                    }
                    return lost
                }
            }
            return await group.reduce(0, +)
        }
        #expect(lost == 0)
    }
}
