import ArgumentParser
import Foundation
import Logging

/// The one place that reads `DFS_*` environment variables as fallbacks for command-line options.
public enum OptionEnvironment {
    /// The value of `DFS_<NAME>` (name upper-cased, dashes to underscores), if set and not empty.
    public static func value(for optionName: String) -> String? {
        let key = "DFS_" + optionName.uppercased().replacingOccurrences(of: "-", with: "_")
        guard let raw = ProcessInfo.processInfo.environment[key], !raw.isEmpty else { return nil }
        return raw
    }

    /// Help text suffix naming the variable.
    public static func help(_ text: String, _ optionName: String) -> ArgumentHelp {
        let key = "DFS_" + optionName.uppercased().replacingOccurrences(of: "-", with: "_")
        return ArgumentHelp("\(text) (env: \(key))")
    }

    /// Command-line value if given, else `DFS_<NAME>`, else the default; throws a ValidationError naming the option.
    public static func resolve<T: ExpressibleByArgument>(_ given: T?, _ optionName: String, default fallback: T) throws -> T {
        try resolve(given, optionName) ?? fallback
    }

    /// Command-line value if given, else `DFS_<NAME>`, else nil (an option without a default).
    public static func resolve<T: ExpressibleByArgument>(_ given: T?, _ optionName: String) throws -> T? {
        if let given { return given }
        if let raw = value(for: optionName) {
            guard let parsed = T(argument: raw) else {
                throw ValidationError(
                    "DFS_\(optionName.uppercased().replacingOccurrences(of: "-", with: "_"))='\(raw)' is not a valid value for --\(optionName)"
                )
            }
            return parsed
        }
        return nil
    }
}

/// Parses durations such as `30s`, `500ms`, `2m`, `1h` or a bare number of seconds.
public struct DurationArgument: ExpressibleByArgument, Sendable, Equatable, CustomStringConvertible {
    public let duration: Duration
    public let text: String

    public init?(argument: String) {
        let text = argument.trimmingCharacters(in: .whitespaces).lowercased()
        func number(_ suffix: String) -> Double? {
            guard text.hasSuffix(suffix) else { return nil }
            return Double(text.dropLast(suffix.count))
        }
        let seconds: Double?
        if let ms = number("ms") {
            seconds = ms / 1000
        } else if let s = number("s") {
            seconds = s
        } else if let m = number("m") {
            seconds = m * 60
        } else if let h = number("h") {
            seconds = h * 3600
        } else {
            seconds = Double(text)
        }
        guard let seconds, seconds >= 0, seconds.isFinite else { return nil }
        self.duration = .milliseconds(Int64((seconds * 1000).rounded()))
        self.text = argument
    }

    /// A duration given in code, e.g. a default.
    public init(_ duration: Duration) {
        self.duration = duration
        let milliseconds = duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
        self.text = milliseconds % 1000 == 0 ? "\(milliseconds / 1000)s" : "\(milliseconds)ms"
    }

    public var description: String { text }
    public var defaultValueDescription: String { text }
}

/// Parses sizes such as `10GiB`, `512MiB`, `64k` or a bare byte count.
public struct ByteSizeArgument: ExpressibleByArgument, Sendable, Equatable, CustomStringConvertible {
    public let bytes: Int64
    public let text: String

    public init?(argument: String) {
        let text = argument.trimmingCharacters(in: .whitespaces)
        let units: [(String, Int64)] = [
            ("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10),
            ("TB", 1_000_000_000_000), ("GB", 1_000_000_000), ("MB", 1_000_000), ("KB", 1000),
            ("T", 1 << 40), ("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10), ("k", 1 << 10), ("B", 1),
        ]
        for (suffix, factor) in units where text.hasSuffix(suffix) {
            guard let value = Double(text.dropLast(suffix.count).trimmingCharacters(in: .whitespaces)), value >= 0 else {
                return nil
            }
            self.bytes = Int64(value * Double(factor))
            self.text = argument
            return
        }
        guard let value = Int64(text), value >= 0 else { return nil }
        self.bytes = value
        self.text = argument
    }

    public var description: String { text }
    public var defaultValueDescription: String { text }
}

/// Process-wide logging set-up: one line per event on stderr, level from `--log-level`.
public enum LogSetup {
    public static func bootstrap(level: Logger.Level) {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
