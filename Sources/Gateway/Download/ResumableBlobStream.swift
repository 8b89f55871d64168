import DFSClient
import DFSCore
import Logging
import NIOCore

/// The bytes of one download, from whichever replica can deliver them (SPEC §4): when the serving node dies
/// or its stream breaks mid-transfer, the rest is fetched from the next verified replica with a `Range`
/// request at the byte reached, so the client sees one uninterrupted response. Only when no replica can
/// continue does the stream throw (and the response is aborted, never completed short).
///
/// Not thread-safe: one task, the response writer, iterates it.
final class ResumableBlobStream {
    private let key: FileKey
    /// The part of the blob being served, inclusive bounds.
    private let first: Int64
    private let last: Int64
    private var current: AnyByteStream.AsyncIterator
    private var currentNode: NodeID
    private let servedBy: NodeID
    private var fallbacks: [NodeScore]
    private let nodes: any NodeClient
    private let scoreboard: LatencyScoreboard
    private let logger: Logger
    private(set) var delivered: Int64 = 0
    private(set) var failovers: [NodeID] = []
    var metrics: GatewayMetrics?

    /// - Parameters:
    ///   - first, last: the inclusive byte range served (`last` is `first - 1` for an empty file).
    ///   - opened: the serving node's stream, positioned after `alreadyDelivered` bytes.
    init(key: FileKey, first: Int64, last: Int64, opened: AnyByteStream.AsyncIterator, alreadyDelivered: Int64, servedBy: NodeID,
         fallbacks: [NodeScore], nodes: any NodeClient, scoreboard: LatencyScoreboard, logger: Logger) {
        self.key = key
        self.first = first
        self.last = last
        self.delivered = alreadyDelivered
        self.current = opened
        self.currentNode = servedBy
        self.servedBy = servedBy
        self.fallbacks = fallbacks
        self.nodes = nodes
        self.scoreboard = scoreboard
        self.logger = logger
    }

    private var expectedLength: Int64 { last - first + 1 }

    func next() async throws -> ByteBuffer? {
        while true {
            do {
                if var chunk = try await current.next() {
                    // Never pass on more than the range: a misbehaving node cannot make the body too long.
                    let remaining = expectedLength - delivered
                    if remaining == 0 { return finished() }
                    if Int64(chunk.readableBytes) > remaining { chunk = chunk.getSlice(at: chunk.readerIndex, length: Int(remaining))! }
                    delivered += Int64(chunk.readableBytes)
                    return chunk
                }
                if delivered == expectedLength { return finished() }
                throw NodeRequestError.unreachable(currentNode, reason: "stream ended after \(delivered) of \(expectedLength) bytes")
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                try await resume(after: error)
            }
        }
    }

    /// Logs how the download was served (the request id is in the logger's metadata) and ends the stream.
    private func finished() -> ByteBuffer? {
        let level: Logger.Level = failovers.isEmpty ? .debug : .info
        logger.log(level: level, "download served", metadata: [
            "file_key": "\(key)", "bytes": "\(delivered)", "node_id": "\(servedBy)",
            "failovers": "\(failovers.map(\.rawValue).joined(separator: ","))",
        ])
        return nil
    }

    /// Switches to the next replica that answers a range request from the byte reached; rethrows when none does.
    private func resume(after failure: any Error) async throws {
        await scoreboard.requestFinished(on: currentNode, latency: nil, failed: true)
        logger.warning("source failed mid-stream; resuming from another replica", metadata: [
            "file_key": "\(key)", "node_id": "\(currentNode)", "bytes": "\(delivered)", "error": "\(failure)",
        ])
        let resumeAt = first + delivered
        while !fallbacks.isEmpty {
            let candidate = fallbacks.removeFirst()
            await scoreboard.requestStarted(on: candidate.id)
            do {
                let opened = try await nodes.getBlob(key, from: candidate.endpoint, range: ByteRange(first: resumeAt, last: last))
                await scoreboard.requestFinished(on: candidate.id, latency: nil, failed: false)
                current = opened.body.makeAsyncIterator()
                failovers.append(candidate.id)
                metrics?.recordDownloadFailover()
                currentNode = candidate.id
                logger.info("download resumed", metadata: ["file_key": "\(key)", "node_id": "\(candidate.id)", "bytes": "\(delivered)"])
                return
            } catch {
                await scoreboard.requestFinished(on: candidate.id, latency: nil, failed: true)
            }
        }
        throw failure
    }
}
