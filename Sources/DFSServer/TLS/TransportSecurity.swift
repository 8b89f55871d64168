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
