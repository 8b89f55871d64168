import DFSClient
import DFSCore
import DFSMetadata
import Foundation
import Logging
import NIOCore

/// How a download's source was found: what the response headers and the request's log line report.
struct DownloadRouting: Sendable, Equatable {
    /// The node whose first byte won.
    var servedBy: NodeID
    /// Replicas that failed (or hung past the first-byte timeout) before the first byte, in order.
    var failedBeforeFirstByte: [NodeID] = []
    /// The replica asked as well because the first was late (a hedged read), whether or not it won.
    var hedgedTo: NodeID?
}

/// An opened download: what to answer and the verified byte stream.
struct DownloadPlan: Sendable {
    var file: FileRecord
    /// nil: the whole file (200); else the range served (206).
    var range: ByteRange?
    var routing: DownloadRouting
    var nodeLatencyMs: Double?
    var body: AnyByteStream

    var servedBy: NodeID { routing.servedBy }
    var contentLength: Int64 { range?.length ?? file.sizeBytes }
}

/// The download flow of SPEC §4: the best-scored verified replica serves; if its first byte is late (past its
/// recent p95, `HedgePolicy`) the next replica that can be expected to answer sooner is asked too and the first to
/// answer wins (a hedged read, within the hedge budget); a node that fails before the first byte is skipped for the next, one that fails, stalls or
/// crawls mid-stream is replaced at the byte reached (`ResumableBlobStream`); the bytes are checked against the
/// stored SHA-256 as they pass.
struct DownloadCoordinator: Sendable {
    let store: any MetadataStore
    let nodes: any NodeClient
    let scoreboard: LatencyScoreboard
    /// A replica that has not delivered its first byte by then is skipped: a hung node (SIGSTOP: the kernel
    /// accepts the connection, nobody answers) costs a client this long, not the transfer idle timeout.
    var firstByteTimeout: Duration = .seconds(2)
    /// Mid-stream, a source that sends nothing for this long is abandoned for the next replica.
    var stallTimeout: Duration = .seconds(2)
    var slowness = SlowSourceDetector()
    /// Hedges and failovers as they happen (for metrics).
    var events = DownloadEvents()

    func metadata(of key: FileKey) async throws -> FileEntry {
        guard let entry = try await store.file(key) else { throw FileAccessError.fileNotFound(key) }
        return entry
    }

    /// Opens the file, or the part `rangeHeader` asks for, from the best replica that answers.
    func open(_ entry: FileEntry, rangeHeader: String?, logger: Logger) async throws -> DownloadPlan {
        let file = entry.file
        var range: ByteRange? = nil
        switch ByteRange.parse(rangeHeader, size: file.sizeBytes) {
        case .whole: break
        case .partial(let requested): range = requested
        case .unsatisfiable: throw FileAccessError.rangeNotSatisfiable(size: file.sizeBytes)
        }
        let replicas = Set(entry.verifiedReplicas)
        guard !replicas.isEmpty else {
            throw NoNodeAvailable(action: "download", attempts: ["no verified replica of \(file.key) is recorded"])
        }
        let ranked = await scoreboard.ranked(among: replicas)
        guard let leader = ranked.first else {
            throw NoNodeAvailable(action: "download", attempts: ["no node holding \(file.key) is known to this gateway"])
        }
        let hedgeDelay = await scoreboard.downloadStarting(on: leader.id)
        let (winner, race) = try await firstSourceToAnswer(file: file, range: range, hedgeDelay: hedgeDelay, race: FirstByteRace(ranked: ranked), logger: logger)
        guard let (candidate, opened) = winner else { throw NoNodeAvailable(action: "download", attempts: race.attempts) }

        let routing = DownloadRouting(servedBy: candidate.id, failedBeforeFirstByte: race.failed, hedgedTo: race.hedgedTo)
        // Mid-stream fallbacks in rank order, except that a replica that just lost the first-byte race (it was late)
        // goes last.
        let untouched = ranked.filter { $0.id != candidate.id && !race.failed.contains($0.id) }
        let fallbacks = untouched.filter { !race.running.contains($0.id) } + untouched.filter { race.running.contains($0.id) }
        let source = ResumableBlobStream(
            key: file.key, pinnedTo: (file.checksum, file.sizeBytes), first: range?.first ?? 0, last: range?.last ?? (file.sizeBytes - 1), opened: opened.iterator,
            alreadyDelivered: Int64(opened.first?.readableBytes ?? 0), routing: routing, fallbacks: fallbacks,
            opener: ReplicaOpener(nodes: nodes, firstByteTimeout: firstByteTimeout), scoreboard: scoreboard, stallTimeout: stallTimeout,
            slowness: slowness, events: events, recentThroughput: await scoreboard.score(of: candidate.id)?.throughputBytesPerSecond, logger: logger)
        let sources = source.sources
        let verifier = DigestVerifier(
            expected: range == nil ? file.checksum : nil, first: opened.first, rest: { try await source.next() },
            onMismatch: { [self] in
                // Only a body that came from one replica convicts it; after a mid-stream switch the culprit is unknown
                // and the audit, which re-hashes each replica on its own, will find it.
                let servedBy = sources.nodes
                guard servedBy.count == 1 else {
                    logger.warning("served bytes differ from the stored SHA-256 after switching sources; left to the audit", metadata: [
                        "file_key": "\(file.key)", "node_id": "\(servedBy.map(\.rawValue).joined(separator: ","))",
                    ])
                    return
                }
                await self.markDamaged(file.key, on: candidate.id, status: .corrupt, reason: "served bytes differ from the stored SHA-256", logger: logger)
            })
        return DownloadPlan(
            file: file, range: range, routing: routing, nodeLatencyMs: await scoreboard.score(of: candidate.id)?.ewmaLatencyMs,
            body: AnyByteStream(VerifiedByteStream(verifier: verifier)))
    }

    /// Runs `race`: opens replicas in rank order, one at a time, plus at most one hedge when the running one is
    /// late; returns the first whose first byte arrives and whose size and recorded digest fit (nil when every
    /// replica failed), and the race's record. Losers are cancelled and their in-flight slots released.
    private func firstSourceToAnswer(
        file: FileRecord, range: ByteRange?, hedgeDelay: Duration?, race initial: FirstByteRace, logger: Logger
    ) async throws -> (winner: (NodeScore, OpenedReplica)?, race: FirstByteRace) {
        let opener = ReplicaOpener(nodes: nodes, firstByteTimeout: firstByteTimeout)
        let key = file.key
        return try await withThrowingTaskGroup(of: FirstByteRace.Event.self) { group in
            var race = initial
            defer { group.cancelAll() }
            var next = race.nextCandidate()
            if hedgeDelay != nil, next != nil {
                group.addTask {
                    try? await Task.sleep(for: hedgeDelay!)
                    return .hedgeDue
                }
            }
            while true {
                if let candidate = next {
                    next = nil
                    await scoreboard.requestStarted(on: candidate.id)
                    group.addTask {
                        do {
                            return .opened(candidate, try await opener.open(key, on: candidate.endpoint, range: range))
                        } catch {
                            return .failed(candidate, error)
                        }
                    }
                }
                guard let event = try await group.next() else { return (nil, race) }
                switch event {
                case .hedgeDue:
                    // How long the request still running has kept the download waiting decides which replica could win.
                    guard let leader = race.running.first, let waited = race.startedAt[leader].map({ ContinuousClock.now - $0 }) else { continue }
                    guard let target = await scoreboard.claimHedge(after: waited, among: race.hedgeCandidates), let extra = race.hedge(to: target) else {
                        // No replica is expected to beat the leader yet. The longer the leader keeps us waiting, the more
                        // replicas qualify: look again when it has waited twice as long, until the first-byte timeout
                        // settles it (a handful of wake-ups at most).
                        if race.mayHedge, waited * 2 < firstByteTimeout {
                            group.addTask {
                                try? await Task.sleep(for: waited)
                                return .hedgeDue
                            }
                        }
                        continue
                    }
                    logger.debug("first byte late; hedging", metadata: ["file_key": "\(key)", "node_id": "\(extra.id)"])
                    events.hedgeSent(extra.id)
                    next = extra
                    continue
                case .opened(let candidate, let opened):
                    race.finished(candidate.id)
                    await scoreboard.firstByteObserved(on: candidate.id, after: opened.latency)
                    await scoreboard.requestFinished(on: candidate.id, latency: opened.latency, failed: false)
                    if let problem = await mismatch(of: opened, for: file, on: candidate.id, logger: logger) {
                        race.recordFailure(candidate.id, reason: problem)
                        events.failedOver(candidate.id, .beforeFirstByte)
                    } else {
                        for loser in race.running {
                            await scoreboard.requestAbandoned(on: loser, waited: race.startedAt[loser].map { ContinuousClock.now - $0 })
                        }
                        if candidate.id == race.hedgedTo { events.hedgeWon(candidate.id) }
                        return ((candidate, opened), race)
                    }
                case .failed(let candidate, let error):
                    race.finished(candidate.id)
                    if error is CancellationError {
                        // The client went away: give back every slot this race still holds.
                        await scoreboard.requestAbandoned(on: candidate.id)
                        for other in race.running { await scoreboard.requestAbandoned(on: other) }
                        throw CancellationError()
                    }
                    let isMissing = (error as? NodeRequestError)?.isBlobNotFound == true
                    await scoreboard.requestFinished(on: candidate.id, latency: nil, failed: !isMissing)
                    if isMissing { await markDamaged(key, on: candidate.id, status: .missing, reason: "blob missing on node", logger: logger) }
                    race.recordFailure(candidate.id, reason: (error as? NodeRequestError)?.description ?? "\(candidate.id): \(error)")
                    events.failedOver(candidate.id, .beforeFirstByte)
                    logger.warning("replica failed before the first byte; trying the next", metadata: ["file_key": "\(key)", "node_id": "\(candidate.id)", "error": "\(error)"])
                }
                // Nothing running any more (the hedge timer aside): fail over to the next replica, if any.
                if race.running.isEmpty {
                    guard let candidate = race.nextCandidate() else { return (nil, race) }
                    next = candidate
                }
            }
        }
    }

    /// Why an opened replica must not serve (and is marked damaged), or nil if it may.
    private func mismatch(of opened: OpenedReplica, for file: FileRecord, on node: NodeID, logger: Logger) async -> String? {
        if opened.stream.totalSize != file.sizeBytes {
            await markDamaged(file.key, on: node, status: .corrupt, reason: "size differs", logger: logger)
            return "\(node): holds \(opened.stream.totalSize) bytes, expected \(file.sizeBytes)"
        }
        if let recorded = opened.stream.recordedDigest, recorded != file.checksum {
            await markDamaged(file.key, on: node, status: .corrupt, reason: "recorded digest differs", logger: logger)
            return "\(node): recorded digest differs"
        }
        return nil
    }

    /// Takes a replica out of service and queues its repair from a verified copy.
    func markDamaged(_ key: FileKey, on node: NodeID, status: LocationStatus, reason: String, logger: Logger) async {
        logger.warning("replica damaged; queued for repair", metadata: ["file_key": "\(key)", "node_id": "\(node)", "reason": "\(reason)"])
        do {
            // One transaction: the location leaves service and its repair is queued together (or not at all).
            _ = try await store.markReplicaLost(key, on: node, status: status, reason: reason, at: Date())
        } catch {
            logger.error("could not record a damaged replica", metadata: ["file_key": "\(key)", "node_id": "\(node)", "error": "\(error)"])
        }
    }
}

extension NodeRequestError {
    var isBlobNotFound: Bool {
        if case .blobNotFound = self { return true }
        return false
    }
}

/// Hashes the bytes as they pass and holds the last chunk back until the digest is known: a corrupt replica
/// makes the stream throw before the response completes, so no client ever receives a complete wrong body.
final class DigestVerifier: @unchecked Sendable {
    // @unchecked: iterated by exactly one task, the response writer.
    private var hasher = StreamingSHA256()
    private let expected: SHA256Digest?
    private var held: ByteBuffer?
    private let rest: () async throws -> ByteBuffer?
    private var finished = false
    private let onMismatch: @Sendable () async -> Void

    init(expected: SHA256Digest?, first: ByteBuffer?, rest: @escaping () async throws -> ByteBuffer?, onMismatch: @escaping @Sendable () async -> Void) {
        self.expected = expected
        self.held = first
        self.rest = rest
        self.onMismatch = onMismatch
        if first == nil { finished = true }
        if let first { hasher.update(first) }
    }

    func next() async throws -> ByteBuffer? {
        guard let current = held else {
            if finished { try await verifyEnd() }
            return nil
        }
        if let following = try await rest() {
            hasher.update(following)
            held = following
            return current
        }
        held = nil
        finished = true
        try await verifyEnd()
        return current
    }

    private var verified = false
    private func verifyEnd() async throws {
        guard !verified else { return }
        verified = true
        if let expected, hasher.finalize() != expected {
            await onMismatch()
            throw DownloadIntegrityError(expected: expected, actual: hasher.finalize())
        }
    }
}

struct DownloadIntegrityError: Error, CustomStringConvertible {
    let expected: SHA256Digest
    let actual: SHA256Digest
    var description: String { "served bytes hash to \(actual.hex), expected \(expected.hex): response aborted" }
}

struct VerifiedByteStream: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let verifier: DigestVerifier

    struct AsyncIterator: AsyncIteratorProtocol {
        let verifier: DigestVerifier
        mutating func next() async throws -> ByteBuffer? { try await verifier.next() }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(verifier: verifier) }
}
