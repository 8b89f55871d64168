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
