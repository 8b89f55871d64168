import DFSClient
import DFSCore
import DFSMetadata
import Foundation
import Logging
import NIOCore

/// What the client described about its upload, checked at the HTTP edge.
struct UploadDescriptor: Sendable {
    var filename: String
    var expectedDigest: SHA256Digest?
    /// Known for raw bodies with Content-Length; unknown for multipart (the file part's size is not announced).
    var length: Int64?
}

/// A finished upload: the durability receipt.
struct UploadOutcome: Sendable {
    struct Replica: Sendable {
        var nodeID: NodeID
        var digest: SHA256Digest?
        var isVerified: Bool
    }

    var file: FileRecord
    var primary: NodeID
    var primaryLatencyMs: Double?
    /// Nodes other than the primary that hold a verified copy.
    var replicatedTo: [NodeID]
    /// Nodes that should hold a copy but do not (queued for repair).
    var failedOn: [NodeID]
    var replicas: [Replica]
}

/// The upload flow: choose a primary by latency, stream the body to it while hashing (whole and per block), let it
/// fan out to the replica targets, verify every replica's SHA-256 and block root against the gateway's own, record
/// file (with its block root) + verified locations + repair items in one transaction, then answer.
struct UploadCoordinator: Sendable {
    let store: any MetadataStore
    let nodes: any NodeClient
    let scoreboard: LatencyScoreboard
    let replicationFactor: Int
    let writeQuorum: Int
    /// A node not heard from for longer than this is health-checked (within `livenessTimeout`) before an upload
    /// names it: a hung node (SIGSTOP) accepts the body into kernel buffers and never answers, which would cost
    /// the client the whole transfer timeout; the check costs one round trip, and at most `livenessTimeout`.
    var livenessWindow: Duration = .seconds(1)
    var livenessTimeout: Duration = .seconds(2)

    func store(_ reader: UploadBodyReader, as descriptor: UploadDescriptor, logger: Logger) async throws -> UploadOutcome {
        let key = FileKey.generate()
        let ranked = await confirmingLiveness(of: await scoreboard.ranked(), logger: logger)
        guard !ranked.isEmpty else { throw NoNodeAvailable(action: "upload", attempts: ["no storage nodes are configured"]) }

        var attempts: [String] = []
        for (index, primary) in ranked.enumerated() {
            // The replica set: the primary plus the best-ranked others; down or ejected ones are queued, not
            // contacted (the primary would wait its whole replication timeout on a hung target).
            let others = ranked.enumerated().filter { $0.offset != index }.map(\.element).prefix(replicationFactor - 1)
            let targets = others.filter(\.isSelectable).map(\.endpoint)
            let unreachableTargets = others.filter { !$0.isSelectable }.map(\.id)
            await scoreboard.requestStarted(on: primary.id)
            let gate = UploadPullGate()
            let body = BodyEndMarkingStream(UploadByteStream(reader: reader, gate: gate))
            do {
                let result = try await Self.releasingBody(to: gate) {
                    try await nodes.putBlob(
                        key, on: primary.endpoint, body: AnyByteStream(body), length: descriptor.length,
                        replicateTo: targets, expectedDigest: descriptor.expectedDigest)
                }
                // Only the wait after the last body byte is the node's latency (durable write and replication);
                // the time before it measures the client's upload speed and the file's size.
                await scoreboard.requestFinished(on: primary.id, latency: body.timeSinceEnd, failed: false)
                try await reader.drainRemainder()
                return try await finish(
                    key: key, reader: reader, descriptor: descriptor, primary: primary, result: result,
                    plannedTargets: targets.map(\.id), skippedTargets: unreachableTargets, logger: logger)
            } catch let error as NodeRequestError {
                await scoreboard.requestFinished(on: primary.id, latency: nil, failed: true)
                attempts.append(error.description)
                if case .unreachable = error, !reader.hasDeliveredBytes {
                    logger.warning(
                        "primary unreachable before the body started; trying the next node",
                        metadata: ["node_id": "\(primary.id)", "error": "\(error)"])
                    continue
                }
                // The body reached the nodes at least in part: make sure no copy of an unacknowledged upload stays.
                await removeEverywhere(key, nodes: [primary.id] + targets.map(\.id), logger: logger)
                if case .digestMismatch = error, let expected = descriptor.expectedDigest {
                    throw UploadError.digestMismatch(expected: expected, actual: reader.digest)
                }
                if case .insufficientStorage = error { throw error }
                throw NoNodeAvailable(action: "upload", attempts: attempts)
            } catch {
                await scoreboard.requestFinished(on: primary.id, latency: nil, failed: !(error is UploadError))
                // The client's body failed (too large, interrupted, malformed). The nodes discard a partial blob when
                // the stream breaks, but a body cut exactly at a chunk boundary can look complete to them, and the
                // trailing multipart bytes are read only after the put: remove whatever copy may exist.
                await removeEverywhere(key, nodes: [primary.id] + targets.map(\.id), logger: logger)
                throw error
            }
        }
        throw NoNodeAvailable(action: "upload", attempts: attempts)
    }

    /// Runs a node request that streams the client's body, and returns only once the request has stopped reading
    /// it, whatever the outcome: the reader has a single owner again afterwards.
    private static func releasingBody<T>(to gate: UploadPullGate, _ request: () async throws -> T) async throws -> T {
        do {
            let value = try await request()
            await gate.close()
            return value
        } catch {
            await gate.close()
            throw error
        }
    }

    private func finish(
        key: FileKey, reader: UploadBodyReader, descriptor: UploadDescriptor, primary: NodeScore, result: BlobPutResult,
        plannedTargets: [NodeID], skippedTargets: [NodeID], logger: Logger
    ) async throws -> UploadOutcome {
        let digests = reader.digests
        let digest = digests.whole
        let blockRoot = digests.blocks.root
        let size = reader.byteCount
        if let expected = descriptor.expectedDigest, expected != digest {
            await removeEverywhere(key, nodes: [primary.id] + plannedTargets, logger: logger)
            throw UploadError.digestMismatch(expected: expected, actual: digest)
        }

        var replicas: [UploadOutcome.Replica] = []
        var verified: [NodeID] = []
        var queue: [NewQueueItem] = []
        var failures: [String] = []
        var reasons: [NodeID: String] = [:]
        let primaryDigest = SHA256Digest(hex: result.checksumSHA256)
        // A copy counts only when its blocks are the gateway's too: the node's block root is the proof.
        let primaryVerified =
            primaryDigest == digest && result.sizeBytes == size && result.blockRoot.flatMap(SHA256Digest.init(hex:)) == blockRoot
        replicas.append(.init(nodeID: primary.id, digest: primaryDigest, isVerified: primaryVerified))
        if primaryVerified {
            verified.append(primary.id)
        } else {
            reasons[primary.id] =
                "\(primary.id): digest \(result.checksumSHA256) or block root \(result.blockRoot ?? "none") differs from \(digest.hex), \(blockRoot.hex)"
            failures.append(reasons[primary.id]!)
        }

        for target in plannedTargets {
            let outcome = result.replicas.first { $0.nodeID == target.rawValue }
            let targetDigest = outcome?.checksumSHA256.flatMap(SHA256Digest.init(hex:))
            let targetRoot = outcome?.blockRoot.flatMap(SHA256Digest.init(hex:))
            let isVerified =
                outcome?.stored == true && targetDigest == digest && outcome?.sizeBytes == size && targetRoot == blockRoot
            replicas.append(.init(nodeID: target, digest: targetDigest, isVerified: isVerified))
            if isVerified {
                verified.append(target)
            } else {
                let reason =
                    outcome?.error
                    ?? (outcome?.stored == true
                        ? "\(target): digest \(targetDigest?.hex ?? "?") or block root \(targetRoot?.hex ?? "none") differs from \(digest.hex), \(blockRoot.hex)"
                        : "\(target): no answer from the primary about this target")
                failures.append(reason)
                reasons[target] = reason
                logger.warning(
                    "replica not verified; queued for repair",
                    metadata: ["file_key": "\(key)", "node_id": "\(target)", "error": "\(reason)"])
            }
        }
        for target in skippedTargets {
            replicas.append(.init(nodeID: target, digest: nil, isVerified: false))
            failures.append("\(target): node is down or not answering")
            reasons[target] = "\(target): node is down or not answering"
        }

        guard verified.count >= writeQuorum, let source = verified.first else {
            await removeEverywhere(key, nodes: [primary.id] + plannedTargets, logger: logger)
            throw UploadError.quorumNotReached(required: writeQuorum, verified: verified, failures: failures)
        }
        let missing = replicas.filter { !$0.isVerified }.map(\.nodeID)
        for node in missing {
            queue.append(
                NewQueueItem(fileKey: key, targetNodeID: node, sourceNodeID: source, kind: .replicate, reason: reasons[node]))
        }

        let now = Date()
        let file = FileRecord(
            key: key, originalFilename: descriptor.filename, sizeBytes: size, checksum: digest, uploadedAt: now,
            blockRoot: blockRoot)
        do {
            try await store.recordUpload(file, verifiedOn: verified, verifiedAt: now, queue: queue)
        } catch {
            // Not recorded means not acknowledged: remove the copies so no orphan stays behind.
            await removeEverywhere(key, nodes: [primary.id] + plannedTargets, logger: logger)
            throw error
        }
        let latency = await scoreboard.score(of: primary.id)?.ewmaLatencyMs
        logger.info(
            "stored file",
            metadata: [
                "file_key": "\(key)", "bytes": "\(size)", "node_id": "\(primary.id)",
                "verified": "\(verified.map(\.rawValue).joined(separator: ","))",
                "queued": "\(missing.map(\.rawValue).joined(separator: ","))",
            ])
        return UploadOutcome(
            file: file, primary: primary.id, primaryLatencyMs: latency,
            replicatedTo: verified.filter { $0 != primary.id }.sorted(), failedOn: missing.sorted(), replicas: replicas)
    }

    /// `ranked` with every selectable node not heard from within `livenessWindow` health-checked first (all at
    /// once); those that do not answer within `livenessTimeout` count a failure and move to the end as DOWN for
    /// this upload, so it neither streams to them nor names them as replication targets.
    private func confirmingLiveness(of ranked: [NodeScore], logger: Logger) async -> [NodeScore] {
        var stale: [NodeScore] = []
        for node in ranked where node.isSelectable {
            let quiet = await scoreboard.timeSinceLastSuccess(of: node.id)
            if quiet.map({ $0 > livenessWindow }) ?? true { stale.append(node) }
        }
        guard !stale.isEmpty else { return ranked }
        let nodes = self.nodes
        let timeout = livenessTimeout
        let silent = await withTaskGroup(of: NodeID?.self) { group in
            for node in stale {
                group.addTask {
                    let started = ContinuousClock.now
                    let answered = await withTaskGroup(of: Bool.self) { race in
                        race.addTask { (try? await nodes.health(of: node.endpoint, timeout: timeout))?.status == "UP" }
                        // The client's own deadline may not hold when a node hangs: bound it here as well.
                        race.addTask {
                            try? await Task.sleep(for: timeout)
                            return false
                        }
                        defer { race.cancelAll() }
                        return await race.next() ?? false
                    }
                    if answered {
                        await scoreboard.requestStarted(on: node.id)
                        await scoreboard.requestFinished(on: node.id, latency: ContinuousClock.now - started, failed: false)
                        return nil
                    }
                    return node.id
                }
            }
            var unanswered: Set<NodeID> = []
            for await id in group { if let id { unanswered.insert(id) } }
            return unanswered
        }
        guard !silent.isEmpty else { return ranked }
        for id in silent {
            await scoreboard.requestFailed(on: id)
            logger.warning("node did not answer a liveness check; left out of this upload", metadata: ["node_id": "\(id)"])
        }
        let answering = ranked.filter { !silent.contains($0.id) }
        let leftOut = ranked.filter { silent.contains($0.id) }.map { node -> NodeScore in
            var down = node
            down.isUp = false
            return down
        }
        return answering + leftOut
    }

    /// Best effort: a copy that stays behind is an orphan the audit collects.
    private func removeEverywhere(_ key: FileKey, nodes ids: [NodeID], logger: Logger) async {
        for id in ids {
            guard let endpoint = await scoreboard.score(of: id)?.endpoint else { continue }
            do {
                _ = try await nodes.deleteBlob(key, on: endpoint)
            } catch {
                logger.warning(
                    "could not remove an unacknowledged copy",
                    metadata: ["file_key": "\(key)", "node_id": "\(id)", "error": "\(error)"])
            }
        }
    }
}

/// Passes an upload body through and notes when its end was handed on, so the node's answer time can be
/// measured from there. `@unchecked Sendable`: the instant is behind a lock; the stream is iterated once.
final class BodyEndMarkingStream: AsyncSequence, @unchecked Sendable {
    typealias Element = ByteBuffer
    private let base: UploadByteStream
    private let lock = NSLock()
    private var endedAt: ContinuousClock.Instant?

    init(_ base: UploadByteStream) { self.base = base }

    /// Time since the body's last byte was handed to the node; nil if the body did not end.
    var timeSinceEnd: Duration? { lock.withLock { endedAt.map { ContinuousClock.now - $0 } } }

    struct AsyncIterator: AsyncIteratorProtocol {
        var base: UploadByteStream.AsyncIterator
        let owner: BodyEndMarkingStream
        mutating func next() async throws -> ByteBuffer? {
            let chunk = try await base.next()
            if chunk == nil { owner.lock.withLock { owner.endedAt = ContinuousClock.now } }
            return chunk
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(base: base.makeAsyncIterator(), owner: self) }
}
