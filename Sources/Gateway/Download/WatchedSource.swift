import DFSClient
import NIOCore
import Synchronization

/// One source's bytes, read one chunk ahead by a pump task and watched by a single watchdog task for the whole
/// stream: a wait for the next chunk that lasts longer than `stallTimeout` ends as `.stalled`, and the pump is
/// cancelled (cancelling an HTTP body read closes that connection).
///
/// The alternative, a race of the read against a timer per chunk, costs a task group, two child tasks and a timer
/// for every chunk of every download; here a chunk costs one hand-over between two tasks.
final class WatchedSource: Sendable {
    enum Outcome: Sendable {
        case chunk(ByteBuffer)
        case end
        case stalled
        case failed(any Error)

        var isLast: Bool {
            if case .chunk = self { return false }
            return true
        }
    }

    private let state = SharedHandOver()
    private let reader: IteratorBox
    private let stallTimeout: Duration
    private let clock: ContinuousClock
    /// Started at the first watched wait: a small download, whose first chunk (read while opening) was all of it,
    /// only waits for the body's end and needs neither.
    private let tasks = Mutex<(pump: Task<Void, Never>, watchdog: Task<Void, Never>)?>(nil)

    init(_ iterator: AnyByteStream.AsyncIterator, stallTimeout: Duration, clock: ContinuousClock = ContinuousClock()) {
        self.reader = IteratorBox(iterator)
        self.stallTimeout = stallTimeout
        self.clock = clock
    }

    private func startIfNeeded() {
        tasks.withLock { tasks in
            guard tasks == nil else { return }
            let (state, reader, stallTimeout, clock) = (self.state, self.reader, self.stallTimeout, self.clock)
            let pump = Task {
                while await Self.slotIsFree(state) {
                    let outcome: Outcome
                    do {
                        outcome = try await reader.iterator.next().map(Outcome.chunk) ?? .end
                    } catch {
                        outcome = .failed(error)
                    }
                    Self.deliver(outcome, to: state)
                    if outcome.isLast { return }
                }
                // Closed or cancelled before the source ended: let go of it now (an HTTP body's iterator, once
                // released, ends its request) rather than when this object goes.
                reader.abandon()
            }
            let watchdog = Task {
                let step = stallTimeout / 4
                while !Task.isCancelled {
                    do { try await clock.sleep(for: step) } catch { return }
                    let now = clock.now
                    let stalled = state.withLock { hand -> CheckedContinuation<Outcome, Never>? in
                        guard let since = hand.waitingSince, now - since >= stallTimeout, let consumer = hand.consumer else {
                            return nil
                        }
                        hand.consumer = nil
                        hand.closed = true
                        return consumer
                    }
                    if let stalled {
                        pump.cancel()
                        stalled.resume(returning: .stalled)
                        return
                    }
                }
            }
            tasks = (pump, watchdog)
        }
    }

    private var isStarted: Bool { tasks.withLock { $0 != nil } }

    deinit {
        cancel()
        let producer = state.withLock { hand in
            hand.closed = true
            return hand.takeProducer()
        }
        producer?.resume()
    }

    /// The next outcome. A wait longer than the stall timeout ends as `.stalled` when `watched`; unwatched waits
    /// (the body's end after the last byte, which the HTTP client reports at once) take as long as they take.
    func next(watched: Bool = true) async -> Outcome {
        if !isStarted {
            // Nothing read ahead yet: an unwatched wait reads in this task, as a plain iterator would.
            guard watched else {
                do {
                    return try await reader.iterator.next().map(Outcome.chunk) ?? .end
                } catch {
                    return .failed(error)
                }
            }
            startIfNeeded()
        }
        if let ready = takeReady() { return ready }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (consumer: CheckedContinuation<Outcome, Never>) in
                let immediate = state.withLock { hand -> HandOver.Taken? in
                    if let taken = hand.takeReady() { return taken }
                    if hand.closed { return (.failed(CancellationError()), hand.takeProducer()) }
                    hand.consumer = consumer
                    hand.waitingSince = watched ? ContinuousClock.now : nil
                    return nil
                }
                if let immediate {
                    immediate.producer?.resume()
                    consumer.resume(returning: immediate.outcome)
                }
            }
        } onCancel: {
            tasks.withLock { $0?.pump.cancel() }
            let consumer = state.withLock { hand in
                hand.closed = true
                return hand.takeConsumer()
            }
            consumer?.resume(returning: .failed(CancellationError()))
        }
    }

    /// Stops reading: the source is abandoned (too slow, or replaced).
    func cancel() {
        tasks.withLock { tasks in
            tasks?.pump.cancel()
            tasks?.watchdog.cancel()
        }
    }

    private func takeReady() -> Outcome? {
        guard let taken = state.withLock({ $0.takeReady() }) else { return nil }
        taken.producer?.resume()
        return taken.outcome
    }

    /// Waits until the consumer took the chunk read ahead; false once the source is closed. Only the step that
    /// empties the slot (`HandOver.takeReady`) or closes the source wakes the pump, so the slot is free when it runs.
    private static func slotIsFree(_ state: SharedHandOver) async -> Bool {
        await withCheckedContinuation { (producer: CheckedContinuation<Void, Never>) in
            let free = state.withLock { hand -> Bool in
                if hand.closed || hand.ready == nil { return true }
                hand.producer = producer
                return false
            }
            if free { producer.resume() }
        }
        return state.withLock { !$0.closed } && !Task.isCancelled
    }

    private static func deliver(_ outcome: Outcome, to state: SharedHandOver) {
        let consumer = state.withLock { hand -> CheckedContinuation<Outcome, Never>? in
            guard !hand.closed else { return nil }
            if let consumer = hand.takeConsumer() { return consumer }
            assert(hand.ready == nil, "the pump read ahead into a slot still holding a chunk")
            hand.ready = outcome
            return nil
        }
        consumer?.resume(returning: outcome)
    }
}

/// What the pump, the consumer and the watchdog share; only touched under its mutex.
private struct HandOver {
    /// The chunk (or end) read ahead, not yet taken.
    var ready: WatchedSource.Outcome?
    /// The consumer waiting for `ready`.
    var consumer: CheckedContinuation<WatchedSource.Outcome, Never>?
    /// Since when the consumer waits, when that wait is watched.
    var waitingSince: ContinuousClock.Instant?
    /// The pump waiting for the consumer to take `ready`.
    var producer: CheckedContinuation<Void, Never>?
    /// Stalled, cancelled or abandoned: nothing more is handed over.
    var closed = false

    mutating func takeConsumer() -> CheckedContinuation<WatchedSource.Outcome, Never>? {
        defer {
            consumer = nil
            waitingSince = nil
        }
        return consumer
    }

    typealias Taken = (outcome: WatchedSource.Outcome, producer: CheckedContinuation<Void, Never>?)

    /// Takes the chunk read ahead together with the pump waiting for that very slot, in one step. Waking the pump
    /// in a second step could wake one that meanwhile read the next chunk and waits for the slot again: it would
    /// read ahead once more and overwrite that chunk (one chunk lost from the middle of a download).
    mutating func takeReady() -> Taken? {
        guard let outcome = ready else { return nil }
        ready = nil
        return (outcome, takeProducer())
    }

    mutating func takeProducer() -> CheckedContinuation<Void, Never>? {
        defer { producer = nil }
        return producer
    }
}

private final class SharedHandOver: Sendable {
    private let mutex = Mutex(HandOver())

    func withLock<Result>(_ body: (inout HandOver) -> Result) -> Result { mutex.withLock { body(&$0) } }
}

/// The source's iterator, used only by the pump task.
private final class IteratorBox: @unchecked Sendable {
    var iterator: AnyByteStream.AsyncIterator
    init(_ iterator: AnyByteStream.AsyncIterator) { self.iterator = iterator }

    func abandon() { iterator = AnyByteStream(chunks: []).makeAsyncIterator() }
}
