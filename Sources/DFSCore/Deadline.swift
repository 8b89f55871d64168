/// An operation ran past the time it was given.
public struct DeadlineExceeded: Error, Sendable, CustomStringConvertible {
    public let limit: Duration

    public init(limit: Duration) { self.limit = limit }

    public var description: String { "no answer within \(limit)" }
}

/// Runs `operation` beside `watchdog`, which only ever ends by throwing (a deadline passed, a watch saw no progress):
/// the first to finish decides, the other is cancelled, and this returns once both have ended.
///
/// The one way "an operation against a deadline" is written here, so every call site cancels the loser the same way.
public func race<T: Sendable>(
    _ operation: @escaping @Sendable () async throws -> T,
    against watchdog: @escaping @Sendable () async throws -> Never
) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask(operation: operation)
        group.addTask { try await watchdog() }
        defer { group.cancelAll() }
        // The watchdog never returns a value, so the first value is the operation's.
        return try await group.next()!
    }
}

/// `operation`'s value, or `DeadlineExceeded` once `limit` has passed on `clock` (the operation is then cancelled).
public func withDeadline<T: Sendable, C: Clock>(
    _ limit: Duration,
    clock: C = ContinuousClock(),
    _ operation: @escaping @Sendable () async throws -> T
) async throws -> T where C.Duration == Duration {
    try await race(operation) {
        try await clock.sleep(for: limit, tolerance: nil)
        throw DeadlineExceeded(limit: limit)
    }
}
