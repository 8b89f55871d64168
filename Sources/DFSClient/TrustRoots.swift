import NIOSSL

/// Whom an https:// peer must be signed by: the system's roots, or one CA file (a cluster's private CA).
public enum TrustRoots: Sendable, Equatable {
    case system
    /// A PEM file with one or more CA certificates; nothing else is trusted.
    case certificateAuthority(file: String)

    /// `--tls-ca FILE` / `--cacert FILE` when given, else the system's roots.
    public init(caFile: String?) {
        self = caFile.map { .certificateAuthority(file: $0) } ?? .system
    }

    /// What AsyncHTTPClient verifies peers with: full verification (chain and host name) either way.
    public var clientConfiguration: TLSConfiguration {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        configuration.certificateVerification = .fullVerification
        if case .certificateAuthority(let file) = self {
            configuration.trustRoots = .file(file)
        }
        return configuration
    }
}
