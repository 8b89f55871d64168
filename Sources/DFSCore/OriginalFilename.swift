/// The name a client gave its file: 1-255 bytes of UTF-8 without control characters, like a file system's NAME_MAX,
/// so every name the gateway stores can be written back to a disk and printed in a log.
public struct OriginalFilename: Hashable, Sendable, CustomStringConvertible {
    public static let maximumBytes = 255

    public let rawValue: String

    /// - Throws: `FilenameError` saying what is wrong.
    public init(validating raw: String) throws(FilenameError) {
        guard !raw.isEmpty else { throw .empty }
        let bytes = raw.utf8.count
        guard bytes <= Self.maximumBytes else { throw .tooLong(bytes: bytes) }
        guard !raw.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else { throw .controlCharacter }
        rawValue = raw
    }

    public var description: String { rawValue }
}

/// Why a file name was refused.
public enum FilenameError: Error, Equatable, Sendable, CustomStringConvertible {
    case empty
    case tooLong(bytes: Int)
    case controlCharacter

    public var description: String {
        switch self {
        case .empty: "the file name is empty"
        case .tooLong(let bytes): "the file name is \(bytes) bytes of UTF-8; at most \(OriginalFilename.maximumBytes) are allowed"
        case .controlCharacter: "the file name contains a control character"
        }
    }
}
