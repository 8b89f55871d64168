/// Waits until `condition` holds, checking every `interval`, for at most `timeout` — never a fixed sleep.
///
/// A condition that throws counts as not yet; its last error is reported if time runs out.
/// - Throws: `ConditionTimedOut` naming `description`.
public func eventually(
    _ description: String,
    timeout: Duration = .seconds(15),
    interval: Duration = .milliseconds(100),
    _ condition: () async throws -> Bool
) async throws {
    let clock = ContinuousClock()
    let deadline = clock.now.advanced(by: timeout)
    var lastError: (any Error)?
    while true {
        do {
            if try await condition() { return }
            lastError = nil
        } catch {
            lastError = error
        }
        guard clock.now < deadline else {
            throw ConditionTimedOut(description: description, timeout: timeout, lastError: lastError)
        }
        try await Task.sleep(for: interval)
    }
}

public struct ConditionTimedOut: Error, CustomStringConvertible {
    public let description: String

    init(description: String, timeout: Duration, lastError: (any Error)?) {
        self.description = "not true within \(timeout): \(description)" + (lastError.map { " (last error: \($0))" } ?? "")
    }
}
