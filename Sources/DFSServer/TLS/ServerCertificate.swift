import Logging
import NIOCore
import NIOSSL
import Synchronization

/// The certificate chain and private key a server presents, read from PEM files and replaceable while it runs.
///
/// Every TLS handshake asks for the current pair (through NIOSSL's per-handshake context callback), so a reload
/// reaches new connections at once while connections already open keep the pair they were started with.
public final class ServerCertificate: Sendable {
    public let certificateFile: String
    public let keyFile: String
    private let current: Mutex<Pair>

    /// One loaded and checked chain with its key.
    struct Pair: Sendable {
        var chain: [NIOSSLCertificate]
        var key: NIOSSLPrivateKey
    }

    /// Reads and checks both files.
    /// - Throws: `ServerCertificateError` naming the file that cannot be used.
    public init(certificateFile: String, keyFile: String) throws {
        self.certificateFile = certificateFile
        self.keyFile = keyFile
        self.current = Mutex(try Self.load(certificateFile: certificateFile, keyFile: keyFile))
    }

    /// Reads both files again and serves the new pair to new connections. A pair that cannot be used (unreadable,
    /// not PEM, key not matching the certificate) leaves the running one in place.
    /// - Throws: `ServerCertificateError` saying why the new pair was refused.
    public func reload() throws {
        let fresh = try Self.load(certificateFile: certificateFile, keyFile: keyFile)
        current.withLock { $0 = fresh }
    }

    /// The leaf certificate served now, for logs.
    public var leafDescription: String {
        current.withLock { pair in pair.chain.first.map { "\($0)" } ?? "none" }
    }

    /// A server configuration that presents whatever pair is current when each handshake starts.
    public func serverConfiguration() -> TLSConfiguration {
        let initial = current.withLock { $0 }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: initial.chain.map { .certificate($0) }, privateKey: .privateKey(initial.key))
        configuration.minimumTLSVersion = .tlsv12
        configuration.sslContextCallback = { [self] _, promise in
            let pair = current.withLock { $0 }
            var override = NIOSSLContextConfigurationOverride()
            override.certificateChain = pair.chain.map { .certificate($0) }
            override.privateKey = .privateKey(pair.key)
            promise.succeed(override)
        }
        return configuration
    }

    private static func load(certificateFile: String, keyFile: String) throws -> Pair {
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(certificateFile)
        } catch {
            throw ServerCertificateError(file: certificateFile, reason: "not a readable PEM certificate (\(error))")
        }
        guard !chain.isEmpty else { throw ServerCertificateError(file: certificateFile, reason: "holds no certificate") }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(file: keyFile, format: .pem)
        } catch {
            throw ServerCertificateError(file: keyFile, reason: "not a readable PEM private key (\(error))")
        }
        // Building a context makes BoringSSL check that the key belongs to the leaf certificate.
        do {
            _ = try NIOSSLContext(
                configuration: .makeServerConfiguration(
                    certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key)))
        } catch {
            throw ServerCertificateError(file: keyFile, reason: "does not fit the certificate in \(certificateFile) (\(error))")
        }
        return Pair(chain: chain, key: key)
    }
}

/// Why a certificate or key file was refused.
public struct ServerCertificateError: Error, CustomStringConvertible {
    public let file: String
    public let reason: String
    public var description: String { "\(file): \(reason)" }
}
