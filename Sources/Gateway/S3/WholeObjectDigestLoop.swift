import DFSMetadata
import Foundation
import Logging
import ServiceLifecycle

/// Gives multipart objects their SHA-256 over all their bytes, which completion (metadata only) cannot: each object
/// waiting in the catalog is read once through the verified download path, oldest first, and its digest recorded
/// for `/files`. The queue is in the metadata, so a restart resumes it. Objects are claimed before they are read, so
/// gateways sharing a database read each object once; an object that cannot be read now (its replicas down) stays
/// claimed until `retryDelay` has passed, without holding up the others, and a gateway that stops mid-way gives its
/// claims back (one that dies leaves them to run out after `lease`).
struct WholeObjectDigestLoop: Service {
    let objects: S3Objects
    /// This gateway's name in claims (unique per process).
    let owner: String
    var interval: Duration = .seconds(1)
    var retryDelay: Duration = .seconds(30)
    /// Longer than any object's read should take: another gateway may read it again after that.
    var lease: Duration = .seconds(300)
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    let now = Date()
                    var claimed = try await objects.catalog.claimObjectsAwaitingDigest(
                        owner: owner, now: now, leaseUntil: now.addingTimeInterval(lease.inSeconds), limit: 16)
                    while !claimed.isEmpty, !Task.isCancelled {
                        await digest(claimed.removeFirst())
                    }
                    for name in claimed {  // stopping: the rest is for whichever gateway comes next
                        try? await objects.catalog.holdObjectDigestClaim(
                            bucket: name.bucket, key: name.key, owner: owner, until: Date())
                    }
                } catch {
                    logger.warning("could not claim the objects waiting for their SHA-256", metadata: ["error": "\(error)"])
                }
                do {
                    try await Task.sleep(for: interval)
                } catch {
                    return
                }
            }
        }
    }

    private func digest(_ name: S3ObjectName) async {
        let started = ContinuousClock.now
        logger.info("reading a multipart object for its SHA-256", metadata: ["bucket": "\(name.bucket)", "key": "\(name.key)"])
        do {
            guard let digest = try await objects.digestWholeObject(name, logger: logger) else { return }
            logger.info(
                "recorded a multipart object's SHA-256",
                metadata: [
                    "bucket": "\(name.bucket)", "key": "\(name.key)", "sha256": "\(digest.hex)",
                    "seconds": "\((ContinuousClock.now - started).components.seconds)",
                ])
        } catch {
            logger.warning(
                "could not read a multipart object for its SHA-256; trying again later",
                metadata: ["bucket": "\(name.bucket)", "key": "\(name.key)", "error": "\(error)"])
            try? await objects.catalog.holdObjectDigestClaim(
                bucket: name.bucket, key: name.key, owner: owner, until: Date().addingTimeInterval(retryDelay.inSeconds))
        }
    }
}
