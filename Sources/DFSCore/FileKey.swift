import Foundation

/// A validated blob/file key: safe to use as a single path component on any node.
public struct FileKey: Hashable, Sendable, Comparable, CustomStringConvertible, Codable {
    /// Longest accepted key, in bytes; keeps every blob path well under `NAME_MAX`.
    public static let maximumLength = 200

    public let rawValue: String

    /// Accepts letters, digits, `.`, `_`, `-`; refuses `/`, `\`, `..`, empty and over-long keys.
    /// - Throws: `KeyValidationError` naming what is wrong.
    public init(validating raw: String) throws {
        self.rawValue = try validateIdentifier(raw, kind: "file key", maximumLength: Self.maximumLength)
    }

    /// A fresh random key for a new upload.
    public static func generate() -> FileKey {
        // A UUID only has hex digits and dashes, so validation cannot fail.
        try! FileKey(validating: UUID().uuidString.lowercased())
    }

    public var description: String { rawValue }
    public static func < (lhs: FileKey, rhs: FileKey) -> Bool { lhs.rawValue < rhs.rawValue }

    public init(from decoder: any Decoder) throws {
        try self.init(validating: try decoder.singleValueContainer().decode(String.self))
    }
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

/// A validated storage node id such as `node-1`.
public struct NodeID: Hashable, Sendable, Comparable, CustomStringConvertible, Codable {
    public static let maximumLength = 64
    public let rawValue: String

    public init(validating raw: String) throws {
        self.rawValue = try validateIdentifier(raw, kind: "node id", maximumLength: Self.maximumLength)
    }

    public var description: String { rawValue }
    public static func < (lhs: NodeID, rhs: NodeID) -> Bool { lhs.rawValue < rhs.rawValue }

    public init(from decoder: any Decoder) throws {
        try self.init(validating: try decoder.singleValueContainer().decode(String.self))
    }
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

/// Why a key or id was refused.
public struct KeyValidationError: Error, Equatable, Sendable, CustomStringConvertible {
    public let description: String
}

private func validateIdentifier(_ raw: String, kind: String, maximumLength: Int) throws -> String {
    if raw.isEmpty { throw KeyValidationError(description: "\(kind) is empty") }
    if raw.utf8.count > maximumLength {
        throw KeyValidationError(description: "\(kind) is longer than \(maximumLength) bytes")
    }
    if raw == "." || raw == ".." || raw.contains("..") {
        throw KeyValidationError(description: "\(kind) must not contain '..'")
    }
    for byte in raw.utf8 {
        let allowed =
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
            || byte == 0x2E || byte == 0x5F || byte == 0x2D
        if !allowed {
            if byte == 0x2F || byte == 0x5C {
                throw KeyValidationError(description: "\(kind) must not contain path separators")
            }
            throw KeyValidationError(description: "\(kind) may only contain letters, digits, '.', '_' and '-'")
        }
    }
    if raw.hasPrefix(".") { throw KeyValidationError(description: "\(kind) must not start with '.'") }
    return raw
}
