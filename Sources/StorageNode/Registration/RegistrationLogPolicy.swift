import Logging

/// How loudly each registration outcome is logged.
///
/// Nodes usually start before their gateway (`dfs up` starts them first), so while the node has never been
/// registered and is younger than `startupGrace`, a refused registration is expected and logged at debug. A
/// failure after that, or after having been registered, is a warning once; while it goes on, debug.
struct RegistrationLogPolicy {
    var startupGrace: Duration
    private var isRegistered = false
    private var hasEverRegistered = false
    private var hasWarned = false

    init(startupGrace: Duration = .seconds(30)) {
        self.startupGrace = startupGrace
    }

    /// Records one outcome, `elapsed` after the node started, and returns the level and message to log.
    mutating func entry(succeeded: Bool, elapsed: Duration) -> (level: Logger.Level, message: Logger.Message) {
        let wasRegistered = isRegistered
        isRegistered = succeeded
        if succeeded {
            hasEverRegistered = true
            hasWarned = false
            return wasRegistered ? (.trace, "heartbeat sent") : (.info, "registered with gateway")
        }
        if !hasEverRegistered && elapsed < startupGrace {
            return (.debug, "gateway not reachable yet (it may still be starting); will retry")
        }
        if !hasWarned {
            hasWarned = true
            return (.warning, "gateway registration failed; will retry")
        }
        return (.debug, "gateway registration still failing")
    }
}
