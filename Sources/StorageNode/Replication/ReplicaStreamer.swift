import DFSClient
import DFSCore
import Logging

/// Streams one target's copy of a put and reports what the target did with it.
struct ReplicaStreamer: Sendable {
    let client: any NodeClient
    /// A target idle this long (see `IdleWatch`) is abandoned and reported as failed, unless the put names a
    /// shorter limit.
    let idleTimeout: Duration

    /// Sends the chunks arriving on `pipe` to `target` as a plain PUT; never throws, the failure is the outcome.
    ///
    /// The pipe is cancelled on return, so the primary's further `send`s to a failed target return at once.
    func replicate(
        _ key: FileKey,
        from pipe: ChunkPipe,
        to target: NodeEndpoint,
        length: Int64?,
        expectedDigest: SHA256Digest?,
        expectedBlockRoot: SHA256Digest?,
        idleLimit: Duration? = nil,
        logger: Logger
    ) async -> ReplicaOutcome {
        defer { pipe.cancel() }
        let watch = IdleWatch()
        let body = watch.watching(pipe)
        let limit = min(idleLimit ?? idleTimeout, idleTimeout)
        let started = ContinuousClock.now
        let client = self.client
        do {
            let answer = try await race {
                try await client.putBlob(
                    key, on: target, body: body, length: length, replicateTo: [], expectedDigest: expectedDigest,
                    expectedBlockRoot: expectedBlockRoot)
            } against: {
                // A target that answers a health check is busy, not hung: keep waiting for it.
                try await watch.expire(after: limit) { within in
                    (try? await client.health(of: target, timeout: within))?.status == "UP"
                }
            }
            logger.debug(
                "replica stored",
                metadata: [
                    "node_id": "\(target.id)", "bytes": "\(answer.sizeBytes)",
                    "duration_ms": "\(started.duration(to: .now).milliseconds)",
                ]
            )
            return ReplicaOutcome(
                nodeID: target.id.rawValue, stored: true, checksumSHA256: answer.checksumSHA256, sizeBytes: answer.sizeBytes,
                blockRoot: answer.blockRoot, error: nil)
        } catch {
            let reason = Self.describe(error, target: target)
            logger.warning("replication to target failed", metadata: ["node_id": "\(target.id)", "error": "\(reason)"])
            return ReplicaOutcome(nodeID: target.id.rawValue, stored: false, checksumSHA256: nil, sizeBytes: nil, error: reason)
        }
    }

    static func describe(_ error: any Error, target: NodeEndpoint) -> String {
        switch error {
        case let error as NodeRequestError: return error.description
        case let error as IdleTimeout: return "\(target.id): \(error.description) (replication timeout)"
        case let error as ReplicationAborted: return "\(target.id): \(error.description)"
        case is CancellationError: return "\(target.id): cancelled"
        default: return "\(target.id): \(error)"
        }
    }
}

/// Why the primary ended a target's stream early.
enum ReplicationAborted: Error, CustomStringConvertible {
    /// The primary could not store its own copy, so the put fails as a whole.
    case primaryWriteFailed
    /// The uploader's body broke off.
    case sourceFailed(String)

    var description: String {
        switch self {
        case .primaryWriteFailed: return "primary write failed; replication abandoned"
        case .sourceFailed(let reason): return "upload body failed: \(reason)"
        }
    }
}

extension Duration {
    /// Whole milliseconds, for `duration_ms` log metadata.
    var milliseconds: Int64 { components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000 }
}
