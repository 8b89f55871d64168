/// Where a child's stdout and stderr go. Its stdin is always `/dev/null`.
public enum ChildOutput: Sendable, Equatable {
    /// The supervisor's own stdout and stderr (a terminal, usually).
    case inherit
    /// Both streams appended to this file, created if missing.
    case file(String)
    /// stdout and stderr appended to two files (a command whose output is parsed).
    case files(standardOutput: String, standardError: String)
    case discard
}
