import Crypto

/// What a client API key may do: read (GET/HEAD), or also change things (upload, delete, recover, audit).
enum APIAccess: String, Sendable, Equatable, CaseIterable {
    case readOnly = "read-only"
    case readWrite = "read-write"
}

/// One configured key, as logs may name it: its access and a label, never the token.
struct APIKey: Sendable, Equatable {
    var access: APIAccess
    var name: String
}

/// The client API keys of `--api-keys-file`.
///
/// The file has one key per line, `ACCESS TOKEN [NAME]`, where ACCESS is `read-only` or `read-write`, TOKEN is at
/// least 16 printable characters and NAME an optional label for logs; blank lines and `#` comments are ignored:
/// ```
/// # CI uploads; dashboards only look
/// read-write 4f9c0e1d7a2b8c3e9f1a0b2c3d4e5f60 ci
/// read-only  0a1b2c3d4e5f60718293a4b5c6d7e8f9 grafana
/// ```
struct APIKeyring: Sendable {
    static let minimumTokenLength = 16

    /// Keyed by the token's SHA-256: a lookup's timing then depends on the digest, which tells a guesser nothing
    /// about the token, and the tokens themselves are not kept in memory longer than parsing takes.
    private let keysByDigest: [[UInt8]: APIKey]

    var count: Int { keysByDigest.count }

    /// - Throws: `APIKeysFileError` naming the line of the first problem (never echoing a token).
    init(parsing text: String) throws {
        var keys: [[UInt8]: APIKey] = [:]
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let lineNumber = index + 1
            let line = rawLine.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
            if fields.isEmpty { continue }
            guard fields.count == 2 || fields.count == 3 else {
                throw APIKeysFileError(line: lineNumber, reason: "expected 'read-only TOKEN [NAME]' or 'read-write TOKEN [NAME]'")
            }
            guard let access = APIAccess(rawValue: String(fields[0]).lowercased()) else {
                throw APIKeysFileError(line: lineNumber, reason: "access must be read-only or read-write, not '\(fields[0])'")
            }
            let token = fields[1]
            guard token.count >= Self.minimumTokenLength, token.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F })
            else {
                throw APIKeysFileError(
                    line: lineNumber, reason: "the token must be at least \(Self.minimumTokenLength) printable ASCII characters")
            }
            let digest = Self.digest(String(token))
            guard keys[digest] == nil else { throw APIKeysFileError(line: lineNumber, reason: "this token is listed twice") }
            keys[digest] = APIKey(access: access, name: fields.count == 3 ? String(fields[2]) : "line-\(lineNumber)")
        }
        guard !keys.isEmpty else {
            throw APIKeysFileError(line: nil, reason: "the file holds no key (an empty file would leave the API open)")
        }
        self.keysByDigest = keys
    }

    /// The key a client presented, or nil when it is not configured.
    func key(for token: String) -> APIKey? {
        keysByDigest[Self.digest(token)]
    }

    private static func digest(_ token: String) -> [UInt8] {
        Array(SHA256.hash(data: Array(token.utf8)))
    }
}

/// Why `--api-keys-file` was refused.
struct APIKeysFileError: Error, CustomStringConvertible {
    var line: Int?
    var reason: String

    var description: String { line.map { "line \($0): \(reason)" } ?? reason }
}
