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
/// A resume inside a block would join two sources' bytes into a block that no node checked whole. So the bytes of
/// the current block already sent are kept (at most one block), the next source is asked from the block's start,
/// and the part already sent must equal what it sends for that part before any byte after it is passed on: the
/// joined block is then exactly a block the new source verified. A source that disagrees is passed over; when none
/// agrees, the bytes already sent were wrong and the response is aborted, never completed.
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
    /// The bytes of the current block passed on so far (from `sentInBlockStart`), kept to check a resume against.
    private var sentInBlock: [ByteBuffer] = []
    private var sentInBlockStart: Int64
    /// After a resume: the blob offset of the current source's next byte while it re-sends bytes already passed on
    /// (`< first + delivered`), each compared with `sentInBlock` instead of passed on.
    private var sourceOffset: Int64
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
        self.sentInBlockStart = first
        self.sourceOffset = first
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
                guard let passed = try await pass(chunk) else { return finished() }
                if passed.readableBytes > 0 { return passed }
                continue
            }
            let waitStarted = ContinuousClock.now
            // Once every byte is in, only the body's end is left, which the HTTP client reports as soon as the
            // Content-Length is reached: that wait is not watched.
            let outcome = await current.next(watched: delivered < expectedLength)
            switch outcome {
            case .chunk(let chunk):
                guard let passed = try await pass(chunk) else { return finished() }
                // Bytes re-sent after a resume are not judged: a disagreement may have replaced the source meanwhile.
                guard passed.readableBytes > 0 else { continue }
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
        let reached = sourceOffset
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

    /// Checks the part of a chunk that re-sends bytes already passed on, trims the rest to the range (a misbehaving
    /// node cannot make the body too long) and counts it. Returns what to pass on (empty while a resumed source is
    /// still re-sending), nil when the range is already complete.
    private func pass(_ chunk: ByteBuffer) async throws -> ByteBuffer? {
        var chunk = chunk
        let resent = Int(min(Int64(chunk.readableBytes), first + delivered - sourceOffset))
        if resent > 0 {
            let repeated = chunk.readSlice(length: resent)!
            if let difference = firstDifference(of: repeated, at: sourceOffset) {
                try await disagreement(at: difference)
                return ByteBuffer()
            }
        }
        sourceOffset += Int64(resent)
        let remaining = expectedLength - delivered
        guard remaining > 0 else { return nil }
        if Int64(chunk.readableBytes) > remaining { chunk = chunk.getSlice(at: chunk.readerIndex, length: Int(remaining))! }
        guard chunk.readableBytes > 0 else { return chunk }
        keepInBlock(chunk)
        delivered += Int64(chunk.readableBytes)
        sourceOffset += Int64(chunk.readableBytes)
        return chunk
    }

    /// Keeps a chunk about to be passed on while it belongs to the current block, dropping the blocks before it.
    private func keepInBlock(_ chunk: ByteBuffer) {
        sentInBlock.append(chunk)
        let end = first + delivered + Int64(chunk.readableBytes)
        let blockSize = Int64(BlobBlocks.standardBlockSize)
        let blockStart = max(first, end / blockSize * blockSize)
        guard blockStart > sentInBlockStart else { return }
        // The block (or blocks) finished: keep only the bytes from the start of the block `end` lies in.
        var start = sentInBlockStart
        var kept: [ByteBuffer] = []
        for buffer in sentInBlock {
            let bufferEnd = start + Int64(buffer.readableBytes)
            if bufferEnd > blockStart {
                let skip = Int(max(0, blockStart - start))
                kept.append(buffer.getSlice(at: buffer.readerIndex + skip, length: buffer.readableBytes - skip)!)
            }
            start = bufferEnd
        }
        sentInBlock = kept
        sentInBlockStart = blockStart
    }

    /// Where `bytes`, which a source sent for blob offset `offset` on, first differ from the bytes passed on there.
    private func firstDifference(of bytes: ByteBuffer, at offset: Int64) -> Int64? {
        var position = sentInBlockStart
        var checked = 0
        for sent in sentInBlock {
            let sentEnd = position + Int64(sent.readableBytes)
            defer { position = sentEnd }
            let from = max(position, offset + Int64(checked))
            guard from < sentEnd, checked < bytes.readableBytes else { continue }
            let length = Int(min(sentEnd - from, Int64(bytes.readableBytes - checked)))
            let mine = sent.readableBytesView.dropFirst(Int(from - position)).prefix(length)
            let theirs = bytes.readableBytesView.dropFirst(checked).prefix(length)
            if !mine.elementsEqual(theirs),
                let index = zip(mine, theirs).enumerated().first(where: { $0.element.0 != $0.element.1 })?.offset
            {
                return from + Int64(index)
            }
            checked += length
        }
        return nil
    }

    /// The current source re-sent a byte that differs from the one passed on: one of the two sources is wrong, so
    /// the next replica decides; when none agrees with what was sent, the response is aborted.
    private func disagreement(at offset: Int64) async throws {
        logger.error(
            "a resumed source's block differs from the bytes already sent; asking the next replica",
            metadata: [
                "file_key": "\(key)", "node_id": "\(currentNode)", "byte": "\(offset)",
                "sources": "\(sources.nodes.map(\.rawValue).joined(separator: ","))",
            ])
        try await resume(after: "its block differs at byte \(offset) from the bytes already sent", cause: .disagreed)
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
        // From the start of the block being sent: the part already sent is checked against this source's verified block.
        let resumeAt = sentInBlockStart
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
                sourceOffset = resumeAt
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
