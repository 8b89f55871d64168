import DFSServer
import Foundation
import HummingbirdCore

extension URI {
    /// A query parameter decoded as browsers and form encoders write it (`URLSearchParams`, Python's `urlencode`):
    /// `+` is a space and `%2B` a plus. Hummingbird's `queryParameters` leaves `+` alone, so a search for
    /// "quarterly report" would arrive as "quarterly+report".
    /// - Returns: nil when the parameter is absent.
    /// - Throws: `APIError` 400 when the value is not valid percent-encoded UTF-8.
    func formDecodedParameter(_ name: String) throws -> String? {
        guard let query else { return nil }
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard Self.formDecoded(parts[0]) == name else { continue }
            guard parts.count > 1 else { return "" }
            guard let value = Self.formDecoded(parts[1]) else {
                throw APIError.badRequest("\(name) is not valid percent-encoded UTF-8")
            }
            return value
        }
        return nil
    }

    /// A yes/no query parameter: absent, `false` or `0` is false; `true`, `1` or empty (`?force`) is true.
    /// - Throws: `APIError` 400 for any other value.
    func flagParameter(_ name: String) throws -> Bool {
        switch try formDecodedParameter(name)?.lowercased() {
        case nil, "false", "0": return false
        case "true", "1", "": return true
        case let other?: throw APIError.badRequest("\(name) must be true or false, not \"\(other)\"")
        }
    }

    private static func formDecoded(_ raw: Substring) -> String? {
        raw.replacingOccurrences(of: "+", with: " ").removingPercentEncoding
    }
}
