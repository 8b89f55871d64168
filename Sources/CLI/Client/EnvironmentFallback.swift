import ArgumentParser
import Foundation

/// Reads `DFS_<NAME>` as the fallback of an option that was not given on the command line (SPEC §8).
///
/// Mirrors `OptionEnvironment` in DFSServer, which the CLI cannot import without linking the server stack.
enum EnvironmentFallback {
    static func variableName(for optionName: String) -> String {
        "DFS_" + optionName.uppercased().replacingOccurrences(of: "-", with: "_")
    }

    static func value(for optionName: String) -> String? {
        guard let raw = ProcessInfo.processInfo.environment[variableName(for: optionName)], !raw.isEmpty else { return nil }
        return raw
    }

    /// The given value, else the parsed variable, else `fallback`.
    /// - Throws: `ValidationError` naming the variable when its value does not parse.
    static func resolve<T: ExpressibleByArgument>(_ given: T?, _ optionName: String, default fallback: T) throws -> T {
        if let given { return given }
        guard let raw = value(for: optionName) else { return fallback }
        guard let parsed = T(argument: raw) else {
            throw ValidationError("\(variableName(for: optionName))='\(raw)' is not a valid value for --\(optionName)")
        }
        return parsed
    }
}
