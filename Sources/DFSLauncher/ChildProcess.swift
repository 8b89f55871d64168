#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif
import Dispatch
import Foundation
import Synchronization

/// A child process started with `posix_spawn`, reaped by its own thread, that can be signalled and awaited.
///
/// Foundation's `Process` is not used because its children inherit the parent's ignored signals: `dfs up`
/// ignores SIGINT/SIGTERM (so DispatchSource can catch them), and a gateway started through `Process` would
/// then ignore SIGTERM until its own handlers are installed. Here the child starts with every signal at its
/// default action, an empty signal mask, stdin on `/dev/null`, and in its own process group, so a terminal's
/// Ctrl-C reaches only the supervisor, which decides the shutdown order.
public final class ChildProcess: Sendable {
    public let name: String
    public let pid: pid_t

    private struct State {
        var exit: ProcessExit?
        var isStopRequested = false
        var waiters: [UInt64: CheckedContinuation<ProcessExit?, Never>] = [:]
        var nextWaiterID: UInt64 = 0
    }

    private let state = Mutex(State())
    private let onExit: @Sendable (_ pid: pid_t, ProcessExit, _ wasStopRequested: Bool) -> Void

    private init(name: String, pid: pid_t, onExit: @escaping @Sendable (pid_t, ProcessExit, Bool) -> Void) {
        self.name = name
        self.pid = pid
        self.onExit = onExit
    }

    /// Starts `executable` with `arguments`.
    /// - Parameters:
    ///   - environment: the complete environment of the child.
    ///   - onExit: called once, on the reaper thread, with the pid, how the child ended and whether
    ///     `requestStop` had been called — the difference between a crash and a shutdown.
    /// - Throws: `ChildProcessError` when the file is not executable or the spawn fails.
    public static func launch(
        name: String,
        executable: String,
        arguments: [String],
        environment: [String: String],
        output: ChildOutput,
        onExit: @escaping @Sendable (_ pid: pid_t, ProcessExit, _ wasStopRequested: Bool) -> Void = { _, _, _ in }
    ) throws -> ChildProcess {
        guard access(executable, X_OK) == 0 else {
            throw ChildProcessError.notExecutable(path: executable)
        }
        let pid = try spawn(executable: executable, arguments: arguments, environment: environment, output: output)
        let child = ChildProcess(name: name, pid: pid, onExit: onExit)
        Thread.detachNewThread { child.reap() }
        return child
    }

    /// How the child ended, or nil while it runs (or is stopped).
    public var exitStatus: ProcessExit? { state.withLock { $0.exit } }

    public var hasExited: Bool { exitStatus != nil }

    /// Whether `requestStop` was called: an exit that follows is a shutdown, not a crash.
    public var isStopRequested: Bool { state.withLock { $0.isStopRequested } }

    /// Sends `signal` unless the child has already been reaped. Returns whether it was sent.
    ///
    /// The reaper marks the exit under the same lock before it releases the pid, so a pid that the system
    /// has handed to another process is never signalled.
    @discardableResult
    public func send(_ signal: Int32) -> Bool {
        state.withLock { state in
            guard state.exit == nil else { return false }
            return kill(pid, signal) == 0
        }
    }

    /// Sends `signal` and records that the exit which follows is wanted, not a crash.
    @discardableResult
    public func requestStop(with signal: Int32) -> Bool {
        state.withLock { state in
            guard state.exit == nil else { return false }
            state.isStopRequested = true
            return kill(pid, signal) == 0
        }
    }

    /// Waits until the child exits, or `timeout` passes (then nil).
    ///
    /// Deliberately ignores task cancellation: shutdown paths must be able to wait for children even when
    /// the task that runs them has been cancelled.
    public func waitForExit(timeout: Duration? = nil) async -> ProcessExit? {
        await withCheckedContinuation { (continuation: CheckedContinuation<ProcessExit?, Never>) in
            let waiterID: UInt64? = state.withLock { state in
                if let exit = state.exit {
                    continuation.resume(returning: exit)
                    return nil
                }
                let id = state.nextWaiterID
                state.nextWaiterID += 1
                state.waiters[id] = continuation
                return id
            }
            guard let waiterID, let timeout else { return }
            let nanoseconds = max(0, timeout.components.seconds * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000)
            DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(Int(clamping: nanoseconds))) { [self] in
                let waiter = state.withLock { $0.waiters.removeValue(forKey: waiterID) }
                waiter?.resume(returning: nil)
            }
        }
    }

    /// Blocks the reaper thread until the child exits, then records it and wakes the waiters.
    private func reap() {
        var info = siginfo_t()
        // WNOWAIT: learn of the exit but keep the zombie, so the pid stays ours until the state says so.
        while waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) == -1 && errno == EINTR {}
        let (exit, wasStopRequested, waiters) = state.withLock { state in
            var status: Int32 = 0
            var reaped: pid_t
            repeat { reaped = waitpid(pid, &status, 0) } while reaped == -1 && errno == EINTR
            // ECHILD means someone else reaped it; report it as an unknown failure rather than hang.
            let exit = reaped == pid ? ProcessExit(waitStatus: status) : .exited(code: 255)
            state.exit = exit
            let waiters = Array(state.waiters.values)
            state.waiters.removeAll()
            return (exit, state.isStopRequested, waiters)
        }
        for waiter in waiters { waiter.resume(returning: exit) }
        onExit(pid, exit, wasStopRequested)
    }
}
