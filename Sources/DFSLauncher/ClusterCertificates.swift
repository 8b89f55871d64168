import Foundation

/// A private CA and one certificate per member of a local cluster, made with the `openssl` command: what
/// `dfs up --tls` serves. Files live in one folder (mode 0700), keys are mode 0600; existing files are reused, so
/// a restarted cluster keeps its CA and clients keep trusting it.
public struct ClusterCertificates: Sendable, Equatable {
    /// The folder holding `ca.pem`, `ca.key` and `<member>.pem` / `<member>.key`.
    public let directory: String

    public init(directory: String) {
        self.directory = directory
    }

    /// The CA certificate clients pass as `--cacert` and servers as `--tls-ca`.
    public var certificateAuthorityFile: String { path("ca.pem") }
    public func certificateFile(of member: ClusterMember) -> String { path("\(member).pem") }
    public func keyFile(of member: ClusterMember) -> String { path("\(member).key") }

    /// Makes whatever is missing: the CA first, then a certificate for each member, valid for `localhost`,
    /// `127.0.0.1` and `host`.
    /// - Throws: `ClusterCertificatesError` with openssl's own words when a step fails.
    public func ensure(members: [ClusterMember], host: String) throws {
        try FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let caKey = path("ca.key")
        if !FileManager.default.fileExists(atPath: certificateAuthorityFile) || !FileManager.default.fileExists(atPath: caKey) {
            try makeKey(caKey)
            try openssl([
                "req", "-x509", "-new", "-key", caKey, "-sha256", "-days", "3650", "-subj", "/CN=SwiftDFS local CA",
                "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
                "-out", certificateAuthorityFile,
            ])
        }
        for member in members
        where !FileManager.default.fileExists(atPath: certificateFile(of: member))
            || !FileManager.default.fileExists(atPath: keyFile(of: member))
        {
            try issue(
                for: "\(member)", names: Self.subjectAlternativeNames(host: host), key: keyFile(of: member),
                certificate: certificateFile(of: member))
        }
    }

    /// Signs a leaf certificate with this CA: for `dfs up`'s members, and for tests that need one more.
    public func issue(for commonName: String, names: [String], key: String, certificate: String) throws {
        try makeKey(key)
        let request = certificate + ".csr"
        let extensions = certificate + ".ext"
        defer {
            try? FileManager.default.removeItem(atPath: request)
            try? FileManager.default.removeItem(atPath: extensions)
        }
        try openssl(["req", "-new", "-key", key, "-subj", "/CN=\(commonName)", "-out", request])
        let san = names.map { Self.isIPAddress($0) ? "IP:\($0)" : "DNS:\($0)" }.joined(separator: ",")
        let text = """
            basicConstraints=critical,CA:FALSE
            keyUsage=critical,digitalSignature,keyEncipherment
            extendedKeyUsage=serverAuth,clientAuth
            subjectAltName=\(san)

            """
        try text.write(toFile: extensions, atomically: true, encoding: .utf8)
        try openssl([
            "x509", "-req", "-in", request, "-CA", certificateAuthorityFile, "-CAkey", path("ca.key"), "-CAcreateserial",
            "-days", "825", "-sha256", "-extfile", extensions, "-out", certificate,
        ])
    }

    /// `localhost` and `127.0.0.1`, plus the listen host when it is another name or address.
    static func subjectAlternativeNames(host: String) -> [String] {
        var names = ["localhost", "127.0.0.1"]
        if !["0.0.0.0", "::", ""].contains(host), !names.contains(host) { names.append(host) }
        return names
    }

    static func isIPAddress(_ text: String) -> Bool {
        let octets = text.split(separator: ".", omittingEmptySubsequences: false)
        return (octets.count == 4 && octets.allSatisfy { UInt8($0) != nil }) || text.contains(":")
    }

    private func path(_ name: String) -> String { (directory as NSString).appendingPathComponent(name) }

    private func makeKey(_ file: String) throws {
        try openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", file])
        // Written by openssl with the umask's mode: only this user may read a private key.
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: file)
    }

    private func openssl(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["openssl"] + arguments
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw ClusterCertificatesError(step: "openssl \(arguments[0])", output: "cannot run openssl: \(error)")
        }
        let output = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ClusterCertificatesError(
                step: "openssl \(arguments.prefix(2).joined(separator: " "))", output: String(decoding: output, as: UTF8.self))
        }
    }
}

/// An openssl step that failed while making a cluster's certificates.
public struct ClusterCertificatesError: Error, CustomStringConvertible {
    public let step: String
    public let output: String
    public var description: String { "\(step) failed: \(output.trimmingCharacters(in: .whitespacesAndNewlines))" }
}
