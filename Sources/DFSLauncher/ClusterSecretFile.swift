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
        // Written under a temporary name created 0600, then renamed: the secret is never readable by others,
        // not even for the moment before a chmod, and a crash leaves no half-written file under the real name.
        let temporary = path + ".tmp-\(getpid())"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw ClusterSecretFileError(path: path, errno: errno) }
        let bytes = Array((secret.value + "\n").utf8)
        let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        let failure = written == bytes.count ? (fsync(descriptor) == 0 ? 0 : errno) : (written < 0 ? errno : EIO)
        close(descriptor)
        guard failure == 0, rename(temporary, path) == 0 else {
            let code = failure != 0 ? failure : errno
            unlink(temporary)
            throw ClusterSecretFileError(path: path, errno: code)
        }
        return secret
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

    public var description: String { "cannot write the cluster secret to \(path): \(String(cString: strerror(errno)))" }
}
