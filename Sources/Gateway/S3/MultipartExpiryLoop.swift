import Logging
import ServiceLifecycle

/// Aborts S3 multipart uploads older than `--multipart-expiry`, deleting their parts' files: a client that never
/// completes nor aborts must not hold storage for ever. Checks at a tenth of the expiry, at most hourly.
struct MultipartExpiryLoop: Service {
    let objects: S3Objects
    let expiry: Duration
    let logger: Logger

    func run() async throws {
        let interval = max(min(expiry / 10, .seconds(3600)), .seconds(1))
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    let expired = try await objects.expireMultipartUploads(olderThan: expiry, logger: logger)
                    if expired > 0 { logger.info("expired multipart uploads aborted", metadata: ["count": "\(expired)"]) }
                } catch {
                    logger.warning("could not expire multipart uploads", metadata: ["error": "\(error)"])
                }
                do {
                    try await Task.sleep(for: interval)
                } catch {
                    return
                }
            }
        }
    }
}
