import Logging
import ServiceLifecycle
import UnixSignals

/// Reads the server's certificate and key files again on every SIGHUP: new connections get the new pair, open ones
/// keep theirs. A pair that cannot be used is refused with an error in the log, and the old one stays in service.
public struct CertificateReloader: Service {
    let certificate: ServerCertificate
    let logger: Logger

    public init(certificate: ServerCertificate, logger: Logger) {
        self.certificate = certificate
        self.logger = logger
    }

    public func run() async throws {
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        for await _ in hangups.cancelOnGracefulShutdown() {
            do {
                try certificate.reload()
                logger.info(
                    "TLS certificate reloaded; new connections use it",
                    metadata: ["tls_cert": "\(certificate.certificateFile)", "certificate": "\(certificate.leafDescription)"])
            } catch {
                logger.error(
                    "TLS certificate reload refused; still serving the previous certificate",
                    metadata: ["tls_cert": "\(certificate.certificateFile)", "error": "\(error)"])
            }
        }
    }
}
