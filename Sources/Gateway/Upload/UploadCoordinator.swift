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
    /// The S3 object the file holds bytes of; nil for `/upload`.
    var s3Object: S3ObjectName? = nil
    /// Records the acknowledged upload in place of `MetadataStore.recordUpload`: an S3 PUT records its object in
    /// the same transaction. Whatever it throws fails the upload, and its copies are removed.
    var recording: (@Sendable (UploadRecord) async throws -> Void)? = nil
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

/// The upload flow: choose the replica set by placement (`ReplicaPlacer`: capacity, zones, room) and its primary by
/// latency, stream the body to the primary while hashing (whole and per block), let it fan out to the others, verify every replica's SHA-256 and block root against the gateway's own, record
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
    /// A primary that reads none of the body, gives no answer and does not answer a health check for this long is
    /// abandoned: the body goes to the next node when it was kept for replay, else the upload fails. A hung node
    /// must not cost the client the whole transfer timeout.
    var stallLimit: Duration = .seconds(2)
    var replay: ReplayPolicy = .disabled
    /// Told when a primary is abandoned as stalled, and whether its body went to the next node (for metrics).
    var primaryStalled: @Sendable (_ node: NodeID, _ replayed: Bool) -> Void = { _, _ in }
    /// Each node's room (capacity, use, zone, refusals), as its health answers and refusals report it.
    var rooms = NodeHealthLedger()
    /// New copies stop on a node whose used share of its capacity reaches this (`--full-threshold`).
    var fullThreshold = 0.95

    func store(_ reader: UploadBodyReader, as descriptor: UploadDescriptor, logger: Logger) async throws -> UploadOutcome {
        var ranked = await confirmingLiveness(of: await scoreboard.ranked(), logger: logger)
        guard !ranked.isEmpty else { throw NoNodeAvailable(action: "upload", attempts: ["no storage nodes are configured"]) }
        let body = ReplayableUploadBody(reader: reader, policy: replay, declaredLength: descriptor.length)
        defer { body.release() }

        var attempts: [String] = []
        // Primaries this upload tried, and the nodes (primaries or targets) that failed one of its attempts.
        var tried: Set<NodeID> = []
        var failed: Set<NodeID> = []
        var rechecked: Set<NodeID> = []
        var shortOfQuorum: UploadError? = nil
        let placer = ReplicaPlacer(replicas: replicationFactor, fullThreshold: fullThreshold)
        placing: while true {
            ranked = await enoughForQuorum(ranked, leavingOut: failed, rechecked: &rechecked, logger: logger)
            // A fresh key per attempt: a copy that an abandoned attempt leaves late (a paused node resuming) can
            // never be taken for the file's.
            let key = FileKey.generate()
            // The replica set by placement, the primary its best-routed member. Down, ejected or failed members are
            // queued, not contacted (the primary would wait its whole replication timeout on a hung target); nodes
            // that failed an attempt are in the set only when no other node can take their place.
            let primary: NodeScore
            let others: [NodeScore]
            let waitingForRoom: Set<NodeID>
            switch placer.place(
                key, ranked: ranked, rooms: await rooms.rooms(), avoiding: failed, notAsPrimary: tried,
                length: descriptor.length)
            {
            case .placed(let chosen, let rest, let waiting):
                primary = chosen
                others = rest
                waitingForRoom = waiting
            case .noPrimary:
                break placing
            case .noRoom(let reasons):
                throw UploadError.noRoom(attempts: attempts + reasons)
            }
            tried.insert(primary.id)
            let isTarget = { (node: NodeScore) in
                node.isSelectable && !failed.contains(node.id) && !waitingForRoom.contains(node.id)
            }
            let targets = others.filter(isTarget).map(\.endpoint)
            let unreachableTargets = others.filter { !isTarget($0) }.map(\.id)
            let lease = scoreboard.startRequest(on: primary.id)
            let gate = UploadPullGate()
            let watch = IdleWatch()
            let sent = BodyEndMarkingStream(watch.watching(body.attempt(through: gate)))
            do {
                let result = try await Self.releasingBody(to: gate) { [nodes, stallLimit] in
                    try await race {
                        try await nodes.putBlob(
                            key, on: primary.endpoint, body: AnyByteStream(sent), length: descriptor.length,
                            replicateTo: targets, expectedDigest: descriptor.expectedDigest)
                    } against: {
                        // A primary that answers a health check is busy, not hung: keep waiting for it.
                        try await watch.expire(after: stallLimit) { within in
                            (try? await nodes.health(of: primary.endpoint, timeout: within))?.status == "UP"
                        }
                    }
                }
                // Only the wait after the last body byte is the node's latency (durable write and replication);
                // the time before it measures the client's upload speed and the file's size.
                await lease.succeeded(latency: sent.timeSinceEnd)
                try await reader.drainRemainder()
                return try await finish(
                    key: key, reader: reader, descriptor: descriptor, primary: primary, result: result,
                    plannedTargets: targets.map(\.id), skippedTargets: unreachableTargets, logger: logger)
            } catch let stall as IdleTimeout {
                await lease.failed()
                failed.insert(primary.id)
                attempts.append("\(primary.id): stopped reading or answering (\(stall.description))")
                let reached = [primary.id] + targets.map(\.id)
                await queueRemoval(
                    of: key, from: reached, reason: "upload abandoned: primary \(primary.id) stalled", logger: logger)
                primaryStalled(primary.id, body.canReplay)
                guard body.canReplay else {
                    logger.warning(
                        "primary stalled and the body was not kept; upload failed",
                        metadata: ["node_id": "\(primary.id)", "file_key": "\(key)"])
                    throw UploadError.primaryStalled(attempts: attempts)
                }
                logger.warning(
                    "primary stalled; sending the body again to the next node",
                    metadata: [
                        "node_id": "\(primary.id)", "file_key": "\(key)", "bytes": "\(body.keptBytes)",
                    ])
                continue
            } catch let error as NodeRequestError {
                await lease.failed()
                failed.insert(primary.id)
                attempts.append(error.description)
                if case .insufficientStorage = error {
                    // Full, or out of space mid-body: it takes no new copies until it reports more room, and the
                    // kept body goes to another replica set; only an upload no set can hold is refused 507.
                    await rooms.refusedSpace(primary.id)
                    if body.canReplay {
                        await removeEverywhere(key, nodes: [primary.id] + targets.map(\.id), logger: logger)
                        logger.warning(
                            "primary out of space; sending the body to another replica set",
                            metadata: ["node_id": "\(primary.id)", "error": "\(error)"])
                        continue
                    }
                }
                if case .unreachable = error, body.canReplay {
                    if reader.hasDeliveredBytes {
                        await queueRemoval(
                            of: key, from: [primary.id] + targets.map(\.id),
                            reason: "upload abandoned: primary \(primary.id) unreachable", logger: logger)
                    }
                    logger.warning(
                        "primary unreachable; trying the next node", metadata: ["node_id": "\(primary.id)", "error": "\(error)"])
                    continue
                }
                // The body reached the nodes at least in part: make sure no copy of an unacknowledged upload stays.
                await removeEverywhere(key, nodes: [primary.id] + targets.map(\.id), logger: logger)
                if case .digestMismatch = error, let expected = descriptor.expectedDigest {
                    throw UploadError.digestMismatch(expected: expected, actual: reader.digest)
                }
                if case .insufficientStorage = error { throw UploadError.outOfSpaceMidBody(attempts: attempts) }
                throw NoNodeAvailable(action: "upload", attempts: attempts)
            } catch UploadError.quorumNotReached(let required, let verified, let failures) where body.canReplay {
                // Too few targets verified a copy (a node that died since the ranking): nothing was recorded and the
                // copies are gone; the kept body goes to another replica set, with nodes that answer again if needed.
                failed.formUnion(targets.map(\.id).filter { !verified.contains($0) })
                attempts += failures
                shortOfQuorum = .quorumNotReached(required: required, verified: verified, failures: failures)
                logger.warning(
                    "too few copies verified; sending the body again to another replica set",
                    metadata: ["node_id": "\(primary.id)", "error": "\(failures)"])
                continue
            } catch {
                // The client's body failing says nothing against the node.
                if error is UploadError { await lease.succeeded(latency: nil) } else { await lease.failed() }
                // The client's body failed (too large, interrupted, malformed). The nodes discard a partial blob when
                // the stream breaks, but a body cut exactly at a chunk boundary can look complete to them, and the
                // trailing multipart bytes are read only after the put: remove whatever copy may exist.
                await removeEverywhere(key, nodes: [primary.id] + targets.map(\.id), logger: logger)
                throw error
            }
        }
        if let shortOfQuorum { throw shortOfQuorum }
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
            blockRoot: blockRoot, s3Object: descriptor.s3Object)
        do {
            if let recording = descriptor.recording {
                try await recording(UploadRecord(file: file, nodes: verified, verifiedAt: now, queue: queue))
            } else {
                try await store.recordUpload(file, verifiedOn: verified, verifiedAt: now, queue: queue)
            }
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

    /// When fewer usable nodes are left than `writeQuorum` (selectable and not `leavingOut`, the primaries this
    /// upload saw fail), the upload would fail as it stands: the nodes routing left out (DOWN, or ejected after
    /// failed requests) are checked now, all at once within `livenessTimeout`, each once per upload (`rechecked`),
    /// and those that answer take part. A node back from a short outage often answers before the next probe says
    /// so; this costs at most one liveness timeout, and only an upload that would otherwise fail.
    private func enoughForQuorum(
        _ ranked: [NodeScore], leavingOut failed: Set<NodeID>, rechecked: inout Set<NodeID>, logger: Logger
    ) async -> [NodeScore] {
        let usable = ranked.filter { $0.isSelectable && !failed.contains($0.id) }
        let candidates = ranked.filter { !$0.isSelectable && !failed.contains($0.id) && !rechecked.contains($0.id) }
        guard usable.count < writeQuorum, !candidates.isEmpty else { return ranked }
        rechecked.formUnion(candidates.map(\.id))
        let answering = Set(await healthChecks(of: candidates).keys)
        guard !answering.isEmpty else { return ranked }
        logger.info(
            "too few nodes in selection for the write quorum; taking nodes that answer again",
            metadata: ["node_id": "\(answering.sorted().map(\.rawValue))"])
        // Those that answered rank right after the selectable ones, ahead of the rest of the last resort.
        let rejoined = ranked.filter { answering.contains($0.id) }.map { node -> NodeScore in
            var usable = node
            usable.isUp = true
            usable.isEjected = false
            return usable
        }
        let selectable = ranked.filter(\.isSelectable)
        return selectable + rejoined + ranked.filter { !$0.isSelectable && !answering.contains($0.id) }
    }

    /// Health-checks `nodes` all at once, each within `livenessTimeout`; returns those that answered UP, with how long
    /// the check took.
    private func healthChecks(of candidates: [NodeScore]) async -> [NodeID: Duration] {
        let nodes = self.nodes
        let timeout = livenessTimeout
        return await withTaskGroup(of: (NodeID, Duration)?.self) { group in
            for node in candidates {
                group.addTask {
                    let started = ContinuousClock.now
                    // The client's own deadline may not hold when a node hangs: bound it here as well.
                    let health = try? await withDeadline(timeout) { try await nodes.health(of: node.endpoint, timeout: timeout) }
                    return health?.status == "UP" ? (node.id, ContinuousClock.now - started) : nil
                }
            }
            var answered: [NodeID: Duration] = [:]
            for await case let (id, latency)? in group { answered[id] = latency }
            return answered
        }
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
        let answered = await healthChecks(of: stale)
        for (id, latency) in answered { await scoreboard.requestSucceeded(on: id, latency: latency) }
        let silent = Set(stale.map(\.id)).subtracting(answered.keys)
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

    /// Queues a DELETE of an abandoned attempt's key on every node it may have reached, without waiting for them (a
    /// stalled node would hold the answer up). Such a node may still store the copy when it resumes, and replicate it;
    /// nodes refuse a put of a key they were asked to delete, so the copy goes whichever comes first.
    private func queueRemoval(of key: FileKey, from ids: [NodeID], reason: String, logger: Logger) async {
        let items = ids.map { NewQueueItem(fileKey: key, targetNodeID: $0, sourceNodeID: nil, kind: .delete, reason: reason) }
        do {
            try await store.enqueue(items, at: Date())
        } catch {
            logger.error(
                "could not queue the removal of an abandoned upload's copies; the audit will find them as orphans",
                metadata: [
                    "file_key": "\(key)", "error": "\(error)",
                ])
        }
    }

    /// Removes an unacknowledged upload's copies from `ids` at once, each within the stall limit (a hung node must
    /// not hold the client's answer); a node that could not confirm gets a queued DELETE instead.
    private func removeEverywhere(_ key: FileKey, nodes ids: [NodeID], logger: Logger) async {
        let nodes = self.nodes
        let limit = stallLimit
        var unconfirmed: [NodeID] = []
        await withTaskGroup(of: NodeID?.self) { group in
            for id in Set(ids) {
                guard let endpoint = await scoreboard.score(of: id)?.endpoint else { continue }
                group.addTask {
                    do {
                        _ = try await withDeadline(limit) { try await nodes.deleteBlob(key, on: endpoint) }
                        return nil
                    } catch {
                        logger.warning(
                            "could not remove an unacknowledged copy; queued",
                            metadata: ["file_key": "\(key)", "node_id": "\(id)", "error": "\(error)"])
                        return id
                    }
                }
            }
            for await id in group { if let id { unconfirmed.append(id) } }
        }
        if !unconfirmed.isEmpty {
            await queueRemoval(
                of: key, from: unconfirmed.sorted(), reason: "upload failed; copy not confirmed removed", logger: logger)
        }
    }
}

/// Passes an upload body through and notes when its end was handed on, so the node's answer time can be
/// measured from there. `@unchecked Sendable`: the instant is behind a lock; the stream is iterated once.
final class BodyEndMarkingStream: AsyncSequence, @unchecked Sendable {
    typealias Element = ByteBuffer
    private let base: AnyByteStream
    private let lock = NSLock()
    private var endedAt: ContinuousClock.Instant?

    init(_ base: AnyByteStream) { self.base = base }

    /// Time since the body's last byte was handed to the node; nil if the body did not end.
    var timeSinceEnd: Duration? { lock.withLock { endedAt.map { ContinuousClock.now - $0 } } }

    struct AsyncIterator: AsyncIteratorProtocol {
        var base: AnyByteStream.AsyncIterator
        let owner: BodyEndMarkingStream
        mutating func next() async throws -> ByteBuffer? {
            let chunk = try await base.next()
            if chunk == nil { owner.lock.withLock { owner.endedAt = ContinuousClock.now } }
            return chunk
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(base: base.makeAsyncIterator(), owner: self) }
}
