/// What `dfs cluster` can ask of a running `dfs up`.
public enum ClusterControlAction: String, Sendable, CaseIterable {
    case status, start, stop, kill, pause, resume

    /// Why this action cannot be applied to `member` while it is `state`, or nil when it can.
    ///
    /// Stopping or killing a member that exited on its own is allowed: it marks the member stopped, so
    /// `--restart on-failure` leaves it down.
    public func refusal(for member: ClusterMember, in state: ClusterMemberState) -> String? {
        let name = member.description
        switch (self, state) {
        case (.status, _), (.start, .stopped), (.start, .exited), (.stop, .running), (.stop, .paused), (.stop, .exited),
            (.kill, .running), (.kill, .paused), (.kill, .exited), (.pause, .running), (.resume, .paused):
            return nil
        case (.start, .running):
            return "\(name) is already running"
        case (.start, .paused):
            return "\(name) is already running (paused); `dfs cluster resume \(name)` lets it go on"
        case (.stop, .stopped), (.kill, .stopped):
            return "\(name) is already stopped"
        case (.pause, .paused):
            return "\(name) is already paused"
        case (.resume, .running):
            return "\(name) is not paused"
        case (.pause, .stopped), (.pause, .exited), (.resume, .stopped), (.resume, .exited):
            return "\(name) is not running (\(state.rawValue)); `dfs cluster start \(name)` starts it"
        }
    }
}

/// One request line on the control socket: `status`, or an action and a member (`pause node-1`).
public struct ClusterControlRequest: Sendable, Equatable {
    public var action: ClusterControlAction
    /// Nil only for `status`.
    public var member: ClusterMember?

    public init(action: ClusterControlAction, member: ClusterMember? = nil) {
        self.action = action
        self.member = member
    }

    /// Parses a request line (without its newline).
    /// - Throws: `ClusterControlRequestError` saying what is wrong with it.
    public init(parsing line: String) throws(ClusterControlRequestError) {
        let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }).map(String.init)
        guard let first = words.first else { throw .empty }
        guard let action = ClusterControlAction(rawValue: first) else { throw .unknownAction(first) }
        switch (action, words.count) {
        case (.status, 1):
            self.init(action: .status)
        case (.status, _):
            throw .unexpectedWords(line)
        case (_, 1):
            throw .missingMember(action)
        case (_, 2):
            guard let member = ClusterMember(name: words[1]) else { throw .unknownMember(words[1]) }
            self.init(action: action, member: member)
        default:
            throw .unexpectedWords(line)
        }
    }

    /// The line that `init(parsing:)` reads back.
    public var line: String {
        [action.rawValue, member?.description].compactMap { $0 }.joined(separator: " ")
    }
}

/// A request line that is not a request.
public enum ClusterControlRequestError: Error, Sendable, Equatable, CustomStringConvertible {
    case empty
    case unknownAction(String)
    case missingMember(ClusterControlAction)
    case unknownMember(String)
    case unexpectedWords(String)

    public var description: String {
        let actions = ClusterControlAction.allCases.map(\.rawValue).joined(separator: ", ")
        switch self {
        case .empty: return "empty request; expected one of: \(actions)"
        case .unknownAction(let word): return "unknown action '\(word)'; expected one of: \(actions)"
        case .missingMember(let action): return "\(action.rawValue) needs a member: gateway or a node id such as node-1"
        case .unknownMember(let name): return "'\(name)' is not a member name: use gateway or a node id such as node-1"
        case .unexpectedWords(let line): return "cannot read '\(line)': expected '<action> <member>' or 'status'"
        }
    }
}
