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

/// The download flow: the best-scored verified replica serves; if its first byte is late (past its recent p95,
/// `HedgePolicy`) the next replica that can be expected to answer sooner is asked too and the first to answer wins
/// (a hedged read, within the hedge budget); a node that fails before the first byte is skipped for the next, one
/// that fails, stalls or crawls mid-stream is replaced at the byte reached (`ResumableBlobStream`).
///
/// Every byte is verified by the node that reads it: nodes send only whole blocks whose SHA-256 matches the digests
/// they recorded when writing, checked against the block root and SHA-256 the gateway recorded at upload (sent with
/// each request), and cut the stream before a block that does not match. A copy found damaged is marked CORRUPT and
/// queued for repair; it still serves, last, the blocks of it that are intact, so a range that no damage touches is
/// answered even when every copy is damaged somewhere.
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
        return try await open(entry, range: range, excluding: nil, preferring: nil, hedging: true, logger: logger)
    }

    /// Opens the whole file as the source of a repair to `target`: every copy but the target's, `preferred` first,
    /// with the same verification and failover as a download but no hedged reads.
    func openRepairSource(
        _ entry: FileEntry, for target: NodeID, preferring preferred: NodeID?, logger: Logger
    ) async throws -> DownloadPlan {
        try await open(entry, range: nil, excluding: target, preferring: preferred, hedging: false, logger: logger)
    }

    private func open(
        _ entry: FileEntry, range: ByteRange?, excluding excluded: NodeID?, preferring preferred: NodeID?, hedging: Bool,
        logger: Logger
    ) async throws -> DownloadPlan {
        let file = entry.file
        let verified = Set(entry.verifiedReplicas).subtracting(excluded.map { [$0] } ?? [])
        let damaged = Set(entry.damagedReplicas).subtracting(excluded.map { [$0] } ?? [])
        guard !verified.isEmpty || !damaged.isEmpty else {
            throw NoNodeAvailable(action: "download", attempts: ["no verified replica of \(file.key) is recorded"])
        }
        var ranked = await scoreboard.ranked(among: verified)
        if let preferred, let index = ranked.firstIndex(where: { $0.id == preferred && $0.isUp }) {
            ranked.insert(ranked.remove(at: index), at: 0)
        }
        if !damaged.isEmpty { ranked += await scoreboard.ranked(among: damaged) }
        guard let leader = ranked.first else {
            throw NoNodeAvailable(action: "download", attempts: ["no node holding \(file.key) is known to this gateway"])
        }
        let hedgeDelay = hedging ? await scoreboard.downloadStarting(on: leader.id) : nil
        let (winner, race) = try await firstSourceToAnswer(
            file: file, range: range, hedgeDelay: hedgeDelay, race: FirstByteRace(ranked: ranked), knownDamaged: damaged,
            logger: logger)
        guard let (candidate, opened) = winner else {
            // A delete that ran meanwhile removed the copies: the file is gone, which is a 404, not a node failure.
            if try await store.file(file.key) == nil { throw FileAccessError.fileNotFound(file.key) }
            throw NoNodeAvailable(action: "download", attempts: race.attempts)
        }

        let routing = DownloadRouting(servedBy: candidate.id, failedBeforeFirstByte: race.failed, hedgedTo: race.hedgedTo)
        // Mid-stream fallbacks in rank order, except that a replica that just lost the first-byte race (it was late)
        // goes after the others, and one whose first block was damaged goes last (its later blocks may be intact).
        let untouched = ranked.filter { $0.id != candidate.id && !race.failed.contains($0.id) }
        let fallbacks =
            untouched.filter { !race.running.contains($0.id) } + untouched.filter { race.running.contains($0.id) }
            + ranked.filter { race.damagedAtStart.contains($0.id) }
        let source = ResumableBlobStream(
            file: file, first: range?.first ?? 0, last: range?.last ?? (file.sizeBytes - 1), opened: opened,
            routing: routing, fallbacks: fallbacks,
            opener: ReplicaOpener(nodes: nodes, firstByteTimeout: firstByteTimeout), scoreboard: scoreboard,
            stallTimeout: stallTimeout,
            slowness: slowness, events: events,
            recentThroughput: await scoreboard.score(of: candidate.id)?.throughputBytesPerSecond, logger: logger)
        return DownloadPlan(
            file: file, range: range, routing: routing, nodeLatencyMs: await scoreboard.score(of: candidate.id)?.ewmaLatencyMs,
            body: AnyByteStream(ResumableByteSequence(stream: source)))
    }

    /// Runs `race`: opens replicas in rank order, one at a time, plus at most one hedge when the running one is
    /// late; returns the first whose first byte arrives and whose size and recorded digest fit (nil when every
    /// replica failed), and the race's record. Losers are cancelled and their in-flight slots released.
    private func firstSourceToAnswer(
        file: FileRecord, range: ByteRange?, hedgeDelay: Duration?, race initial: FirstByteRace, knownDamaged: Set<NodeID>,
        logger: Logger
    ) async throws -> (winner: (NodeScore, OpenedReplica)?, race: FirstByteRace) {
        let opener = ReplicaOpener(nodes: nodes, firstByteTimeout: firstByteTimeout)
        let key = file.key
        return try await withThrowingTaskGroup(of: FirstByteRace.Event.self) { group in
            var race = initial
            // The requests still running; one left here when the race ends is given up and its slot freed.
            var leases: [NodeID: RequestLease] = [:]
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
                    leases[candidate.id] = scoreboard.startRequest(on: candidate.id)
                    group.addTask {
                        do {
                            return .opened(
                                candidate,
                                try await opener.open(key, on: candidate.endpoint, range: range, expecting: file.expectation))
                        } catch {
                            return .failed(candidate, error)
                        }
                    }
                }
                guard let event = try await group.next() else { return (nil, race) }
                switch event {
                case .hedgeDue:
                    // How long the request still running has kept the download waiting decides which replica could win.
                    guard let leader = race.running.first, let waited = race.startedAt[leader].map({ ContinuousClock.now - $0 })
                    else { continue }
                    guard let target = await scoreboard.claimHedge(after: waited, among: race.hedgeCandidates),
                        let extra = race.hedge(to: target)
                    else {
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
                    await leases.removeValue(forKey: candidate.id)?.succeeded(latency: opened.latency)
                    if let problem = await mismatch(of: opened, for: file, on: candidate.id, logger: logger) {
                        race.recordFailure(candidate.id, reason: problem)
                        events.failedOver(candidate.id, .beforeFirstByte)
                    } else {
                        for loser in race.running {
                            await leases.removeValue(forKey: loser)?.abandoned(
                                waited: race.startedAt[loser].map { ContinuousClock.now - $0 })
                        }
                        if candidate.id == race.hedgedTo { events.hedgeWon(candidate.id) }
                        return ((candidate, opened), race)
                    }
                case .failed(let candidate, let error):
                    race.finished(candidate.id)
                    if error is CancellationError {
                        // The client went away: the slots this race still holds end with their leases.
                        throw CancellationError()
                    }
                    // A missing or damaged copy says nothing about the node's health.
                    let damage = (error as? NodeRequestError)?.copyDamage
                    if damage == nil {
                        await leases.removeValue(forKey: candidate.id)?.failed()
                    } else {
                        await leases.removeValue(forKey: candidate.id)?.succeeded(latency: nil)
                    }
                    if let damage, !(damage == .corrupt && knownDamaged.contains(candidate.id)) {
                        await markDamaged(key, on: candidate.id, status: damage, reason: "\(error)", logger: logger)
                    }
                    race.recordFailure(
                        candidate.id, reason: (error as? NodeRequestError)?.description ?? "\(candidate.id): \(error)",
                        copyDamaged: damage == .corrupt)
                    events.failedOver(candidate.id, .beforeFirstByte)
                    logger.warning(
                        "replica failed before the first byte; trying the next",
                        metadata: ["file_key": "\(key)", "node_id": "\(candidate.id)", "error": "\(error)"])
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
        if let recorded = file.blockRoot, let root = opened.stream.blockRoot, root != recorded {
            await markDamaged(file.key, on: node, status: .corrupt, reason: "block root differs", logger: logger)
            return "\(node): block root differs"
        }
        return nil
    }

    /// Takes a replica out of service and queues its repair from a verified copy (a copy already marked stays so).
    func markDamaged(_ key: FileKey, on node: NodeID, status: LocationStatus, reason: String, logger: Logger) async {
        logger.warning(
            "replica damaged; queued for repair", metadata: ["file_key": "\(key)", "node_id": "\(node)", "reason": "\(reason)"])
        do {
            // One transaction: the location leaves service and its repair is queued together (or not at all).
            _ = try await store.markReplicaLost(key, on: node, status: status, reason: reason, at: Date())
        } catch {
            logger.error(
                "could not record a damaged replica", metadata: ["file_key": "\(key)", "node_id": "\(node)", "error": "\(error)"])
        }
    }
}

extension NodeRequestError {
    var isBlobNotFound: Bool {
        if case .blobNotFound = self { return true }
        return false
    }

    /// What this failure says about the node's copy: MISSING, CORRUPT, or nothing (the node itself failed).
    var copyDamage: LocationStatus? {
        switch self {
        case .blobNotFound: return .missing
        case .blobCorrupt: return .corrupt
        default: return nil
        }
    }
}

/// A download's body as an `AsyncSequence` for the response writer.
struct ResumableByteSequence: AsyncSequence, @unchecked Sendable {
    // @unchecked: the stream is iterated by exactly one task, the response writer.
    typealias Element = ByteBuffer
    let stream: ResumableBlobStream

    struct AsyncIterator: AsyncIteratorProtocol {
        let stream: ResumableBlobStream
        mutating func next() async throws -> ByteBuffer? { try await stream.next() }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(stream: stream) }
}
