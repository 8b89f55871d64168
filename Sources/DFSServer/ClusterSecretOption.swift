import ArgumentParser
import DFSCore
import DFSOptions
import Foundation

/// Turns `--cluster-secret` / `--cluster-secret-file` (and `DFS_CLUSTER_SECRET` / `DFS_CLUSTER_SECRET_FILE`) into
/// a `ClusterSecret`, the same way for gateway and node.
public enum ClusterSecretOption {
    /// Help for `--cluster-secret`: the file form is preferred because a command line shows in `ps`.
    public static let secretHelp = OptionEnvironment.help(
        "Secret shared by the gateway and its nodes; every internal call must carry it. Prefer --cluster-secret-file: a command line is visible in ps.",
        "cluster-secret")
    public static let fileHelp = OptionEnvironment.help(
        "File whose first line is the cluster secret (keep it mode 0600).", "cluster-secret-file")

    /// The configured secret, or nil when none was given. A value on the command line wins over a file, and both
    /// over the environment.
    /// - Throws: `ValidationError` naming the option when the file is unreadable or the secret unusable.
    public static func resolve(secret: String?, file: String?) throws -> ClusterSecret? {
        let raw: String
        let source: String
        if let secret {
            (raw, source) = (secret, "--cluster-secret")
        } else if let file = file ?? OptionEnvironment.value(for: "cluster-secret-file") {
            guard let contents = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw ValidationError("--cluster-secret-file \(file) cannot be read")
            }
            let firstLine = contents.split(separator: "\n", omittingEmptySubsequences: false).first.map(String.init) ?? ""
            (raw, source) = (firstLine.trimmingCharacters(in: .whitespacesAndNewlines), "--cluster-secret-file \(file)")
        } else if let fromEnvironment = OptionEnvironment.value(for: "cluster-secret") {
            (raw, source) = (fromEnvironment, "DFS_CLUSTER_SECRET")
        } else {
            return nil
        }
        do {
            return try ClusterSecret(validating: raw)
        } catch {
            throw ValidationError("\(source): \(error)")
        }
    }
}

/// Facts about a listen address given as `--host`.
public enum ListenAddress {
    /// Whether only this machine can connect: `localhost`, `127.0.0.0/8` or `::1`. Wildcards (`0.0.0.0`, `::`)
    /// and every other address are reachable from the network.
    public static func isLoopback(_ host: String) -> Bool {
        let trimmed = host.trimmingCharacters(in: CharacterSet(charactersIn: "[]")).lowercased()
        if trimmed == "localhost" || trimmed == "::1" { return true }
        let octets = trimmed.split(separator: ".", omittingEmptySubsequences: false)
        return octets.count == 4 && octets[0] == "127" && octets.allSatisfy { UInt8($0) != nil }
    }
}

/// `--insecure-open` (or `DFS_INSECURE_OPEN=1`/`true`): listen on a reachable address without authentication.
public enum InsecureOpenOption {
    public static func help(_ text: String) -> ArgumentHelp { OptionEnvironment.help(text, "insecure-open") }

    public static func resolve(_ given: Bool) -> Bool {
        if given { return true }
        guard let raw = OptionEnvironment.value(for: "insecure-open")?.lowercased() else { return false }
        return raw == "1" || raw == "true" || raw == "yes"
    }
}
