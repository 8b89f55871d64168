import ArgumentParser
import DFSOptions
import Foundation

/// `--tls-cert`, `--tls-key`, `--tls-ca` and `--insecure-plaintext`, the same on gateway and node.
public struct TLSOptions: ParsableArguments {
    @Option(
        help: OptionEnvironment.help(
            "PEM certificate chain to serve HTTPS with (needs --tls-key); SIGHUP reloads it.", "tls-cert"))
    var tlsCert: String?
    @Option(help: OptionEnvironment.help("PEM private key of --tls-cert (keep it mode 0600).", "tls-key"))
    var tlsKey: String?
    @Option(
        help: OptionEnvironment.help(
            "PEM CA certificate that https:// peers (nodes, gateway) must be signed by; default: the system's roots.",
            "tls-ca"))
    var tlsCA: String?
    @Flag(
        help: OptionEnvironment.help(
            "Allow a non-loopback --host without --tls-cert: secrets and data then cross the network readable by anyone on the path.",
            "insecure-plaintext"))
    var insecurePlaintext = false

    public init() {}

    /// The files, checked: both halves of the server pair or neither, and every named file readable.
    public func resolve() throws -> TransportSecurity {
        let cert = tlsCert ?? OptionEnvironment.value(for: "tls-cert")
        let key = tlsKey ?? OptionEnvironment.value(for: "tls-key")
        let ca = tlsCA ?? OptionEnvironment.value(for: "tls-ca")
        var security = TransportSecurity()
        switch (cert, key) {
        case (let cert?, let key?):
            security.serverCertificate = .init(certificateFile: cert, keyFile: key)
        case (nil, nil):
            break
        default:
            throw ValidationError("--tls-cert and --tls-key go together: give both or neither")
        }
        security.certificateAuthorityFile = ca
        for (flag, file) in [("--tls-cert", cert), ("--tls-key", key), ("--tls-ca", ca)] {
            if let file, !FileManager.default.isReadableFile(atPath: file) {
                throw ValidationError("\(flag) \(file) cannot be read")
            }
        }
        let flagged = OptionEnvironment.value(for: "insecure-plaintext")?.lowercased()
        security.allowsPlaintextOnNetwork = insecurePlaintext || ["1", "true", "yes"].contains(flagged ?? "")
        return security
    }
}

/// How a server listens and whom its outbound calls trust: typed, for the configuration structs.
public struct TransportSecurity: Sendable, Equatable {
    /// The pair a server presents; nil serves plain HTTP.
    public var serverCertificate: ServerCertificateFiles?
    /// The CA that https:// peers must chain to; nil trusts the system's roots.
    public var certificateAuthorityFile: String?
    /// `--insecure-plaintext`: a non-loopback listener without TLS was asked for deliberately.
    public var allowsPlaintextOnNetwork: Bool = false

    public init(
        serverCertificate: ServerCertificateFiles? = nil, certificateAuthorityFile: String? = nil,
        allowsPlaintextOnNetwork: Bool = false
    ) {
        self.serverCertificate = serverCertificate
        self.certificateAuthorityFile = certificateAuthorityFile
        self.allowsPlaintextOnNetwork = allowsPlaintextOnNetwork
    }

    public var servesHTTPS: Bool { serverCertificate != nil }
    public var scheme: String { servesHTTPS ? "https" : "http" }

    /// Checked before anything binds: without TLS, the cluster secret, API keys and every file would cross the
    /// network as plain text to anyone on the path.
    /// - Throws: `PlaintextExposure`, naming the flags that fix it.
    public func checkExposure(host: String) throws(PlaintextExposure) {
        guard !servesHTTPS, !ListenAddress.isLoopback(host), !allowsPlaintextOnNetwork else { return }
        throw PlaintextExposure(
            message:
                "refusing to listen on \(host) without TLS: secrets, keys and data would cross the network as plain text. "
                + "Pass --tls-cert FILE --tls-key FILE, listen on 127.0.0.1, or pass --insecure-plaintext to accept that deliberately."
        )
    }

    /// The settings as a startup log shows them.
    public var logDescription: String {
        let serving = serverCertificate.map { "https (\($0.certificateFile))" } ?? "plain http"
        return "\(serving), peers verified against \(certificateAuthorityFile ?? "system roots")"
    }
}

/// The PEM files of a server's certificate chain and key.
public struct ServerCertificateFiles: Sendable, Equatable {
    public var certificateFile: String
    public var keyFile: String

    public init(certificateFile: String, keyFile: String) {
        self.certificateFile = certificateFile
        self.keyFile = keyFile
    }
}

/// A reachable listener without TLS that nobody asked for deliberately.
public struct PlaintextExposure: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
