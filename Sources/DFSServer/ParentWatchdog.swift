import Foundation
import Logging
import ServiceLifecycle

/// Ends the process when the supervisor that started it (`dfs up`, a test harness) has died.
///
/// `dfs up` sets `DFS_PARENT_PID` for its children. If `dfs` itself is killed with SIGKILL it cannot
/// forward a signal, so each child polls its parent id and shuts down gracefully once it is re-parented:
/// no orphaned gateway or node keeps a port after its cluster is gone.
public struct ParentWatchdog: Service {
    let expectedParent: pid_t
    let logger: Logger

    /// A watchdog if `DFS_PARENT_PID` names this process's parent, else nil.
    public static func fromEnvironment(logger: Logger) -> ParentWatchdog? {
        guard let raw = ProcessInfo.processInfo.environment["DFS_PARENT_PID"], let pid = pid_t(raw), pid > 1 else { return nil }
        return ParentWatchdog(expectedParent: pid, logger: logger)
    }

    public func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            if getppid() != expectedParent {
                logger.warning("supervisor process \(expectedParent) is gone; shutting down")
                return  // a Service returning ends the group, which stops every other service gracefully
            }
            try? await Task.sleep(for: .milliseconds(500))
        }
    }
}
