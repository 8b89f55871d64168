import Crypto

/// The secret shared by a gateway and its nodes; every internal call carries it in `x-dfs-cluster-secret`.
///
/// Its `description` is `***`, so interpolating it into a log line or an error message never leaks it.
public struct ClusterSecret: Sendable, CustomStringConvertible {
    /// The request header that carries the secret between gateway and nodes.
    public static let headerName = "x-dfs-cluster-secret"
    /// Short secrets could be guessed over the network; 16 characters of a generated secret are ~64 bits at least.
    public static let minimumLength = 16

    /// The secret itself, only for sending it.
    public let value: String
    private let digest: [UInt8]

    /// - Throws: `ClusterSecretError` when it is too short or could not travel in an HTTP header.
    public init(validating value: String) throws {
        guard value.count >= Self.minimumLength else { throw ClusterSecretError.tooShort(minimum: Self.minimumLength) }
        guard value.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F }) else {
            throw ClusterSecretError.notPrintableASCII
        }
        self.value = value
        self.digest = Array(SHA256.hash(data: Array(value.utf8)))
    }

    /// A fresh random secret: 32 bytes from the system's cryptographic generator, as 64 hex digits.
    public static func generate() -> ClusterSecret {
        var generator = SystemRandomNumberGenerator()
        let hex = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }.map { byte in
            let text = String(byte, radix: 16)
            return byte < 16 ? "0" + text : text
        }.joined()
        // 64 hex digits always validate.
        return try! ClusterSecret(validating: hex)
    }

    /// Whether `presented` is this secret. Compares SHA-256 digests in constant time, so how long the check takes
    /// tells an attacker nothing about how many leading characters they guessed right.
    public func matches(_ presented: String?) -> Bool {
        guard let presented else { return false }
        let other = Array(SHA256.hash(data: Array(presented.utf8)))
        return ConstantTime.equal(digest, other)
    }

    public var description: String { "***" }
}

/// Why a configured cluster secret was refused.
public enum ClusterSecretError: Error, Sendable, CustomStringConvertible, Equatable {
    case tooShort(minimum: Int)
    case notPrintableASCII

    public var description: String {
        switch self {
        case .tooShort(let minimum): return "the cluster secret must be at least \(minimum) characters"
        case .notPrintableASCII: return "the cluster secret must be printable ASCII without spaces"
        }
    }
}

/// Comparisons whose duration does not depend on where the inputs differ.
public enum ConstantTime {
    /// Byte-wise equality that always looks at every byte (lengths are not secret: callers compare digests).
    public static func equal(_ left: [UInt8], _ right: [UInt8]) -> Bool {
        guard left.count == right.count else { return false }
        var difference: UInt8 = 0
        for index in left.indices { difference |= left[index] ^ right[index] }
        return difference == 0
    }
}
