#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif
import DFSCore
import Foundation

/// The cluster secret of a local cluster, kept in a file only its owner can read (mode 0600), which gateway and
/// nodes are pointed at with `--cluster-secret-file` so the secret never shows in `ps`.
public enum ClusterSecretFile {
    /// The secret in `path`, creating the file with a fresh random one when it is missing or unusable.
    /// - Throws: `ClusterSecretFileError` when the file cannot be written.
    public static func loadOrCreate(at path: String) throws -> ClusterSecret {
        if let existing = load(from: path) { return existing }
        let secret = ClusterSecret.generate()
        try writePrivately(secret.value + "\n", to: path)
        return secret
    }

    /// Writes `text` under a temporary name created 0600, then renames it: what it holds is never readable by
    /// others, not even for the moment before a chmod, and a crash leaves no half-written file under the real name.
    static func writePrivately(_ text: String, to path: String) throws {
        let temporary = path + ".tmp-\(getpid())"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw ClusterSecretFileError(path: path, errno: errno) }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        let failure = written == bytes.count ? (fsync(descriptor) == 0 ? 0 : errno) : (written < 0 ? errno : EIO)
        close(descriptor)
        guard failure == 0, rename(temporary, path) == 0 else {
            let code = failure != 0 ? failure : errno
            unlink(temporary)
            throw ClusterSecretFileError(path: path, errno: code)
        }
    }

    /// The secret in `path`, or nil when the file is missing or does not hold a usable secret.
    public static func load(from path: String) -> ClusterSecret? {
        guard let contents = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        let firstLine = contents.split(separator: "\n", omittingEmptySubsequences: false).first.map(String.init) ?? ""
        return try? ClusterSecret(validating: firstLine.trimmingCharacters(in: .whitespacesAndNewlines))
    }
}

/// The cluster secret file could not be written.
public struct ClusterSecretFileError: Error, Sendable, CustomStringConvertible {
    public let path: String
    public let errno: Int32

    public var description: String { "cannot write \(path): \(String(cString: strerror(errno)))" }
}

/// The S3 key pair of a local cluster (`dfs up`): `DATA/s3-credentials`, mode 0600, one read-write key in the
/// gateway's `--s3-credentials-file` format, made at the first start and kept.
public enum S3CredentialsFile {
    public struct Key: Sendable, Equatable {
        public var accessKeyID: String
        public var secretAccessKey: String
    }

    /// The first key in `path`, creating the file with a fresh random key when it is missing or holds none.
    public static func loadOrCreate(at path: String) throws -> Key {
        if let existing = load(from: path) { return existing }
        var generator = SystemRandomNumberGenerator()
        let upper = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
        let mixed = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
        let key = Key(
            accessKeyID: "DFS" + String((0..<17).map { _ in upper.randomElement(using: &generator)! }),
            secretAccessKey: String((0..<40).map { _ in mixed.randomElement(using: &generator)! }))
        try ClusterSecretFile.writePrivately(
            "# S3 keys of this cluster: ACCESS_KEY_ID SECRET_ACCESS_KEY NAME read-write|read-only\n"
                + "\(key.accessKeyID) \(key.secretAccessKey) dfs-up read-write\n", to: path)
        return key
    }

    public static func load(from path: String) -> Key? {
        guard let contents = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        for line in contents.split(separator: "\n") where !line.hasPrefix("#") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            if fields.count >= 2 { return Key(accessKeyID: String(fields[0]), secretAccessKey: String(fields[1])) }
        }
        return nil
    }
}
