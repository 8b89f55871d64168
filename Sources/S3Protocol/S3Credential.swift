/// One S3 access key: its id, its secret, a name for logs, and whether it may write.
///
/// Its descriptions leave the secret out, so a credential can be logged or interpolated without leaking it.
public struct S3Credential: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible {
    public var accessKeyID: String
    public var secretAccessKey: String
    public var name: String
    public var readOnly: Bool

    public init(accessKeyID: String, secretAccessKey: String, name: String, readOnly: Bool) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.name = name
        self.readOnly = readOnly
    }

    public var description: String {
        "S3Credential(\(accessKeyID), \(name), \(readOnly ? "read-only" : "read-write"))"
    }

    public var debugDescription: String { description }
}

/// A credentials file that could not be read; `line` counts from 1. The text never contains a secret.
public struct S3CredentialsFileError: Error, Equatable, CustomStringConvertible {
    public var line: Int
    public var reason: String

    public var description: String { "S3 credentials line \(line): \(reason)" }
}

/// The S3 credentials file: one `ACCESS_KEY_ID SECRET_ACCESS_KEY NAME read-write|read-only` per line.
public enum S3CredentialsFile {
    /// Parses the whole file; `#` starts a comment line and blank lines are skipped.
    /// - Throws: `S3CredentialsFileError` naming the first bad line (a wrong field count, an unknown mode, a
    ///   key id that cannot appear in a SigV4 credential scope, or a key id already used).
    public static func parse(_ text: String) throws -> [S3Credential] {
        var credentials: [S3Credential] = []
        var lineOfKeyID: [String: Int] = [:]
        // `isNewline`, not "\n": a CR LF is one Character in Swift, and files written on Windows end lines so.
        for (index, rawLine) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let lineNumber = index + 1
            let line = rawLine.trimmingWhitespace()
            if line.isEmpty || line.hasPrefix("#") { continue }
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count == 4 else {
                throw S3CredentialsFileError(
                    line: lineNumber,
                    reason: "expected 4 fields (ACCESS_KEY_ID SECRET_ACCESS_KEY NAME read-write|read-only), found \(fields.count)"
                )
            }
            let accessKeyID = String(fields[0])
            guard accessKeyID.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "/") }) else {
                throw S3CredentialsFileError(
                    line: lineNumber, reason: "the access key id must be printable ASCII without '/'")
            }
            let readOnly: Bool
            switch fields[3] {
            case "read-write": readOnly = false
            case "read-only": readOnly = true
            default:
                throw S3CredentialsFileError(
                    line: lineNumber, reason: "the mode must be read-write or read-only, not '\(fields[3])'")
            }
            if let firstLine = lineOfKeyID[accessKeyID] {
                throw S3CredentialsFileError(
                    line: lineNumber, reason: "the access key id \(accessKeyID) is already defined on line \(firstLine)")
            }
            lineOfKeyID[accessKeyID] = lineNumber
            credentials.append(
                S3Credential(
                    accessKeyID: accessKeyID, secretAccessKey: String(fields[1]), name: String(fields[2]),
                    readOnly: readOnly))
        }
        return credentials
    }
}

extension StringProtocol {
    /// Without leading and trailing spaces, tabs and stray carriage returns.
    func trimmingWhitespace() -> Substring {
        let isWhitespace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" }
        let text = Substring(self)
        guard let first = text.firstIndex(where: { !isWhitespace($0) }),
            let last = text.lastIndex(where: { !isWhitespace($0) })
        else { return "" }
        return text[first...last]
    }
}
