import DFSClient
import DFSCore
import DFSMetadata
import Logging
import NIOCore
import Synchronization

/// The bytes of one download, from whichever replica can deliver them: when the serving node dies, stalls (no byte
/// for `stallTimeout`), runs far slower than its recent throughput, or cuts the stream before a block it found
/// damaged, the rest is fetched from the next replica with a `Range` request at the byte reached, so the client sees
/// one uninterrupted response. Only when no replica can continue does the stream throw (and the response is
/// aborted, never completed short). Every source is asked for the copy the file's metadata describes (its SHA-256
/// and block root), and sends only blocks it verified against them.
///
/// Not thread-safe: one task, the response writer, iterates it.
final class ResumableBlobStream {
    private let file: FileRecord
    private var key: FileKey { file.key }
    /// The part of the blob being served, inclusive bounds.
    private let first: Int64
    private let last: Int64
    private var current: WatchedSource
    /// A resumed source's first chunk, read while opening it (within the first-byte timeout), not yet passed on.
    private var pendingChunk: ByteBuffer?
    private var currentNode: NodeID
    /// The current source's answer is chunked, so it may end cleanly before a damaged block (`BlobReadStream`).
    private var currentMayEndBeforeDamage: Bool
    /// The current source's in-flight slot, held while it streams.
    private var lease: StreamLease
    private var fallbacks: [NodeScore]
    private let opener: ReplicaOpener
    private let scoreboard: LatencyScoreboard
    private let stallTimeout: Duration
    private var slowness: SlowSourceDetector
    private var recentThroughput: Double?
    private let routing: DownloadRouting
    private let logger: Logger
    private let events: DownloadEvents
    /// Every node that delivered part of this response, in order; readable from other tasks.
    let sources: ServedSources
    private(set) var delivered: Int64 = 0
    /// Sources taken over mid-stream, in order, with why.
    private(set) var midStreamFailovers: [(node: NodeID, reason: String)] = []

    /// - Parameters:
    ///   - first, last: the inclusive byte range served (`last` is `first - 1` for an empty file).
    ///   - opened: the serving node's stream with its first chunk already read (and not yet passed on).
    init(
        file: FileRecord, first: Int64, last: Int64, opened: OpenedReplica, routing: DownloadRouting,
        fallbacks: [NodeScore], opener: ReplicaOpener, scoreboard: LatencyScoreboard, stallTimeout: Duration,
        slowness: SlowSourceDetector = SlowSourceDetector(), events: DownloadEvents = DownloadEvents(), recentThroughput: Double?,
        logger: Logger
    ) {
        self.file = file
        self.first = first
        self.last = last
        self.current = WatchedSource(opened.iterator, stallTimeout: stallTimeout)
        self.pendingChunk = opened.first
        self.currentNode = routing.servedBy
        self.currentMayEndBeforeDamage = opened.stream.mayEndBeforeDamage
        self.lease = StreamLease(on: routing.servedBy, in: scoreboard.streaming)
        self.routing = routing
        self.fallbacks = fallbacks
        self.opener = opener
        self.scoreboard = scoreboard
        self.stallTimeout = stallTimeout
        self.slowness = slowness
        self.events = events
        self.sources = ServedSources(first: routing.servedBy)
        self.recentThroughput = recentThroughput
        self.logger = logger
    }

    private var expectedLength: Int64 { last - first + 1 }

    func next() async throws -> ByteBuffer? {
        while true {
            if let chunk = pendingChunk {
                pendingChunk = nil
                if let passed = pass(chunk) { return passed }
                continue
            }
            let waitStarted = ContinuousClock.now
            // Once every byte is in, only the body's end is left, which the HTTP client reports as soon as the
            // Content-Length is reached: that wait is not watched.
            let outcome = await current.next(watched: delivered < expectedLength)
            switch outcome {
            case .chunk(let chunk):
                guard let passed = pass(chunk) else { return finished() }
                await judgePace(bytes: passed.readableBytes, waited: ContinuousClock.now - waitStarted)
                return passed
            case .end:
                if delivered == expectedLength { return finished() }
                // A node ends its answer early, cleanly, only before a block it found damaged; any other early end
                // means the answer is not what it claimed, and none of its bytes can be vouched for.
                try refuseUnexplainedEnd()
                try await resume(
                    after: "the node stopped after \(delivered) of \(expectedLength) bytes, before a damaged block",
                    cause: .damaged)
            case .stalled:
                try await resume(after: "no byte for \(stallTimeout)", cause: .stalled)
            case .failed(let error as CancellationError):
                throw error
            case .failed(let error):
                try await resume(after: "\(error)", cause: .broken)
            }
        }
    }

    /// Throws (aborting the response) when the current source ended cleanly where no node ends a verified answer:
    /// inside a block, or short of a `Content-Length` it declared.
    private func refuseUnexplainedEnd() throws {
        let reached = first + delivered
        let atBlockBoundary = reached % Int64(BlobBlocks.standardBlockSize) == 0
        guard !currentMayEndBeforeDamage || !atBlockBoundary else { return }
        let reason =
            currentMayEndBeforeDamage
            ? "the node's answer ended at byte \(reached), inside a block, where no verified answer ends"
            : "the node's answer ended at byte \(reached), short of the Content-Length it declared"
        var metadata = summary()
        metadata["node_id"] = "\(currentNode)"
        metadata["error"] = "\(reason)"
        lease.release()
        current.cancel()
        logger.error("download aborted: a node's answer ended early without cause", metadata: metadata)
        events.aborted()
        throw NodeRequestError.invalidResponse(currentNode, reason: reason)
    }

    /// Trims a chunk to the range (a misbehaving node cannot make the body too long) and counts it; nil when the
    /// range is already complete.
    private func pass(_ chunk: ByteBuffer) -> ByteBuffer? {
        let remaining = expectedLength - delivered
        guard remaining > 0 else { return nil }
        var chunk = chunk
        if Int64(chunk.readableBytes) > remaining { chunk = chunk.getSlice(at: chunk.readerIndex, length: Int(remaining))! }
        delivered += Int64(chunk.readableBytes)
        return chunk
    }

    private func judgePace(bytes: Int, waited: Duration) async {
        switch slowness.delivered(
            bytes: bytes, waited: waited, recentThroughput: recentThroughput, bytesRemaining: expectedLength - delivered)
        {
        case .keepGoing:
            break
        case .measured(let rate):
            await scoreboard.throughputObserved(on: currentNode, bytesPerSecond: rate)
            recentThroughput = await scoreboard.score(of: currentNode)?.throughputBytesPerSecond
        case .tooSlow(let rate):
            let expected = recentThroughput ?? 0
            await switchIfPossible(
                reason:
                    "delivering \(Int(rate)) B/s, below 1/\(Int(1 / slowness.slowFraction)) of its recent \(Int(expected)) B/s")
        }
    }

    /// Logs how the download was served: one line per request with the request id (from the logger's metadata),
    /// the nodes, the failovers and the hedge, since response headers leave before any mid-stream event.
    private func finished() -> ByteBuffer? {
        lease.release()
        current.cancel()
        let level: Logger.Level =
            midStreamFailovers.isEmpty && routing.failedBeforeFirstByte.isEmpty && routing.hedgedTo == nil ? .debug : .info
        logger.log(level: level, "download served", metadata: summary())
        return nil
    }

    private func summary() -> Logger.Metadata {
        [
            "file_key": "\(key)", "bytes": "\(delivered)", "node_id": "\(routing.servedBy)",
            "failovers": "\(routing.failedBeforeFirstByte.map(\.rawValue).joined(separator: ","))",
            "midstream_failovers": "\(midStreamFailovers.map { $0.node.rawValue }.joined(separator: ","))",
            "hedged": "\(routing.hedgedTo?.rawValue ?? "false")",
        ]
    }

    /// The source broke or stalled: switches to the next replica that answers a range request from the byte
    /// reached; throws (aborting the response) when none does.
    private func resume(after reason: String, cause: DownloadEvents.FailoverReason) async throws {
        // A node that stopped before a damaged block is healthy, and its blocks after the damage may serve later.
        let stoppedSource = cause == .damaged ? await scoreboard.score(of: currentNode) : nil
        if cause != .damaged { await scoreboard.requestFailed(on: currentNode) }
        events.failedOver(currentNode, cause)
        // Let the node be asked, off this path, which blocks it found damaged (a broken stream may be a death too).
        if cause == .broken || cause == .damaged { events.sourceBroke(key, currentNode) }
        logger.warning(
            "source failed mid-stream; resuming from another replica",
            metadata: [
                "file_key": "\(key)", "node_id": "\(currentNode)", "bytes": "\(delivered)", "error": "\(reason)",
            ])
        if try await switchToFallback(reason: reason, keeping: stoppedSource) { return }
        var metadata = summary()
        metadata["error"] = "\(reason)"
        lease.release()
        logger.warning("download aborted: no replica can continue", metadata: metadata)
        events.aborted()
        throw NodeRequestError.unreachable(
            currentNode, reason: "\(reason); no other replica could continue at byte \(first + delivered)")
    }

    /// The source is alive but far too slow: moves on only if another replica opens, else keeps it.
    private func switchIfPossible(reason: String) async {
        logger.warning(
            "source too slow; trying another replica",
            metadata: [
                "file_key": "\(key)", "node_id": "\(currentNode)", "bytes": "\(delivered)", "reason": "\(reason)",
            ])
        let slowNode = currentNode
        if (try? await switchToFallback(reason: reason)) == true {
            await scoreboard.requestFailed(on: slowNode)
            events.failedOver(slowNode, .slow)
        }
    }

    /// Opens the next fallback at the byte reached (first byte within the opener's timeout) and makes it current.
    /// - Parameter kept: a damaged source to keep as the last fallback for the bytes after its damage.
    private func switchToFallback(reason: String, keeping kept: NodeScore? = nil) async throws -> Bool {
        let resumeAt = first + delivered
        // A copy refused here for a damaged block may hold the blocks after it: it stays a fallback for later bytes.
        // Every switch delivers at least the rest of one intact block, so this never goes round in circles.
        var damagedHere: [NodeScore] = []
        defer { fallbacks += damagedHere + (kept.map { [$0] } ?? []) }
        while !fallbacks.isEmpty {
            try Task.checkCancellation()
            let candidate = fallbacks.removeFirst()
            let request = scoreboard.startRequest(on: candidate.id)
            do {
                let opened = try await opener.open(
                    key, on: candidate.endpoint, range: ByteRange(first: resumeAt, last: last), expecting: file.expectation)
                await request.succeeded(latency: opened.latency)
                if opened.stream.totalSize != file.sizeBytes
                    || (opened.stream.recordedDigest.map { $0 != file.checksum } ?? false)
                {
                    logger.warning(
                        "replica holds a different blob; not resuming from it",
                        metadata: [
                            "file_key": "\(key)", "node_id": "\(candidate.id)", "bytes": "\(opened.stream.totalSize)",
                        ])
                    continue
                }
                current.cancel()
                current = WatchedSource(opened.iterator, stallTimeout: stallTimeout)
                lease.release()
                lease = StreamLease(on: candidate.id, in: scoreboard.streaming)
                pendingChunk = opened.first
                midStreamFailovers.append((candidate.id, reason))
                sources.append(candidate.id)
                currentNode = candidate.id
                currentMayEndBeforeDamage = opened.stream.mayEndBeforeDamage
                slowness.reset()
                recentThroughput = await scoreboard.score(of: candidate.id)?.throughputBytesPerSecond
                logger.info(
                    "download resumed", metadata: ["file_key": "\(key)", "node_id": "\(candidate.id)", "bytes": "\(delivered)"])
                return true
            } catch is CancellationError {
                await request.abandoned()
                throw CancellationError()
            } catch let error as NodeRequestError where error.copyDamage != nil {
                // A missing or damaged copy says nothing against the node.
                await request.succeeded(latency: nil)
                events.copyDamaged(key, candidate.id, error.copyDamage!, error.description)
                if error.copyDamage == .corrupt { damagedHere.append(candidate) }
                logger.warning(
                    "replica's copy is damaged; not resuming from it",
                    metadata: ["file_key": "\(key)", "node_id": "\(candidate.id)", "error": "\(error)"])
            } catch {
                await request.failed()
                logger.warning(
                    "replica could not resume the download",
                    metadata: ["file_key": "\(key)", "node_id": "\(candidate.id)", "error": "\(error)"])
            }
        }
        return false
    }
}

/// The nodes a response's bytes came from, appended by the stream and read by its digest check.
final class ServedSources: Sendable {
    private let list: Mutex<[NodeID]>

    init(first: NodeID) { list = Mutex([first]) }

    var nodes: [NodeID] { list.withLock { $0 } }
    func append(_ node: NodeID) { list.withLock { $0.append(node) } }
}
