import DFSMetadata
import Foundation
import Logging
import ServiceLifecycle

/// Gives multipart objects their SHA-256 over all their bytes, which completion (metadata only) cannot: each object
/// waiting in the catalog is read once through the verified download path, oldest first, and its digest recorded
/// for `/files`. The queue is in the metadata, so a restart resumes it; an object that cannot be read now (its
/// replicas down) is tried again after `retryDelay`, without holding up the others.
struct WholeObjectDigestLoop: Service {
    let objects: S3Objects
    var interval: Duration = .seconds(1)
    var retryDelay: Duration = .seconds(30)
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            var failedUntil: [S3ObjectName: ContinuousClock.Instant] = [:]
            while !Task.isCancelled {
                do {
                    let now = ContinuousClock.now
                    failedUntil = failedUntil.filter { $0.value > now }
                    let waiting = try await objects.catalog.objectsAwaitingDigest(limit: 16 + failedUntil.count)
                    for name in waiting where failedUntil[name] == nil && !Task.isCancelled {
                        await digest(name, failedUntil: &failedUntil)
                    }
                } catch {
                    logger.warning("could not list the objects waiting for their SHA-256", metadata: ["error": "\(error)"])
                }
                do {
                    try await Task.sleep(for: interval)
                } catch {
                    return
                }
            }
        }
    }

    private func digest(_ name: S3ObjectName, failedUntil: inout [S3ObjectName: ContinuousClock.Instant]) async {
        let started = ContinuousClock.now
        do {
            guard let digest = try await objects.digestWholeObject(name, logger: logger) else { return }
            logger.info(
                "recorded a multipart object's SHA-256",
                metadata: [
                    "bucket": "\(name.bucket)", "key": "\(name.key)", "sha256": "\(digest.hex)",
                    "seconds": "\((ContinuousClock.now - started).components.seconds)",
                ])
        } catch {
            failedUntil[name] = ContinuousClock.now + retryDelay
            logger.warning(
                "could not read a multipart object for its SHA-256; trying again later",
                metadata: ["bucket": "\(name.bucket)", "key": "\(name.key)", "error": "\(error)"])
        }
    }
}
