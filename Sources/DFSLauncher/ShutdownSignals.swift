#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
import Dispatch
import Synchronization

/// Catches SIGINT, SIGTERM and SIGHUP for `dfs up`, so it can stop its children before exiting.
///
/// Each signal's default action is replaced by "ignore" and a DispatchSource reports it instead (the
/// pattern swift-service-lifecycle uses). Signals queue up until `next()` takes them, so a Ctrl-C during
/// start-up is not lost, and a second one can be awaited separately (it means: stop now).
public final class ShutdownSignals: @unchecked Sendable {
    // @unchecked: `sources` is written only in init and DispatchSource is thread-safe; the mailbox is Sendable.
    private let sources: [any DispatchSourceSignal]
    private let mailbox = SignalMailbox()

    public init(_ signals: [Int32] = [SIGINT, SIGTERM, SIGHUP]) {
        let mailbox = self.mailbox
        sources = signals.map { signalNumber in
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler { mailbox.deliver(signalNumber) }
            source.resume()
            return source
        }
    }

    deinit {
        sources.forEach { $0.cancel() }
    }

    /// The next signal received (possibly one that came earlier), or nil if the calling task is cancelled.
    public func next() async -> Int32? {
        await mailbox.next()
    }
}

/// Signals received and not yet taken, and the one task waiting for the next.
private final class SignalMailbox: Sendable {
    private struct State {
        var pending: [Int32] = []
        var waiter: (id: UInt64, continuation: CheckedContinuation<Int32?, Never>)?
        var nextWaiterID: UInt64 = 0
    }

    private let state = Mutex(State())

    func next() async -> Int32? {
        let id = state.withLock { state in
            state.nextWaiterID += 1
            return state.nextWaiterID
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Int32?, Never>) in
                state.withLock { state in
                    if !state.pending.isEmpty {
                        continuation.resume(returning: state.pending.removeFirst())
                    } else if Task.isCancelled {
                        continuation.resume(returning: nil)
                    } else {
                        state.waiter = (id, continuation)
                    }
                }
            }
        } onCancel: {
            let waiter: CheckedContinuation<Int32?, Never>? = state.withLock { state in
                guard let waiter = state.waiter, waiter.id == id else { return nil }
                state.waiter = nil
                return waiter.continuation
            }
            waiter?.resume(returning: nil)
        }
    }

    func deliver(_ signalNumber: Int32) {
        let waiter: CheckedContinuation<Int32?, Never>? = state.withLock { state in
            guard let waiter = state.waiter else {
                state.pending.append(signalNumber)
                return nil
            }
            state.waiter = nil
            return waiter.continuation
        }
        waiter?.resume(returning: signalNumber)
    }
}
