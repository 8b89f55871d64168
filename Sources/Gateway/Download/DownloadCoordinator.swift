import DFSClient
import DFSCore
import DFSMetadata
import Foundation
import Logging
import NIOCore

/// An opened download: what to answer and the verified byte stream.
struct DownloadPlan: Sendable {
    var file: FileRecord
    /// nil: the whole file (200); else the range served (206).
    var range: ByteRange?
    var servedBy: NodeID
    var nodeLatencyMs: Double?
    var body: AnyByteStream

    var contentLength: Int64 { range?.length ?? file.sizeBytes }
}

/// The download flow of SPEC §4: the best-scored verified replica serves; a node that fails before the first
/// byte is skipped for the next, one that fails mid-stream is replaced by the next at the byte reached
/// (`ResumableBlobStream`); the bytes are checked against the stored SHA-256 as they pass.
struct DownloadCoordinator: Sendable {
    let store: any MetadataStore
    let nodes: any NodeClient
    let scoreboard: LatencyScoreboard
    /// A replica that has not delivered its first byte by then is skipped: a hung node (SIGSTOP: the kernel
    /// accepts the connection, nobody answers) costs a client this long, not the transfer idle timeout.
    var firstByteTimeout: Duration = .seconds(2)
    /// Counts failovers (`dfs_download_failovers_total`).
    var metrics: GatewayMetrics? = nil

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
        var attempts: [String] = []
        let ranked = await scoreboard.ranked(among: replicas)
        for (position, candidate) in ranked.enumerated() {
            await scoreboard.requestStarted(on: candidate.id)
            do {
                let started = try await firstBytes(of: file.key, from: candidate, range: range)
                let opened = started.stream
                guard opened.totalSize == file.sizeBytes else {
                    await scoreboard.requestFinished(on: candidate.id, latency: nil, failed: false)
                    attempts.append("\(candidate.id): holds \(opened.totalSize) bytes, expected \(file.sizeBytes)")
                    await markDamaged(file.key, on: candidate.id, status: .corrupt, reason: "size differs", logger: logger)
                    continue
                }
                if let recorded = opened.recordedDigest, recorded != file.checksum {
                    await scoreboard.requestFinished(on: candidate.id, latency: nil, failed: false)
                    attempts.append("\(candidate.id): recorded digest differs")
                    await markDamaged(file.key, on: candidate.id, status: .corrupt, reason: "recorded digest differs", logger: logger)
                    continue
                }
                let iterator = started.iterator
                let first = started.first
                await scoreboard.requestFinished(on: candidate.id, latency: started.latency, failed: false)
                let source = ResumableBlobStream(
                    key: file.key, first: range?.first ?? 0, last: range?.last ?? (file.sizeBytes - 1), opened: iterator,
                    alreadyDelivered: Int64(first?.readableBytes ?? 0), servedBy: candidate.id,
                    fallbacks: Array(ranked[(position + 1)...]), nodes: nodes, scoreboard: scoreboard, logger: logger)
                source.metrics = metrics
                if position > 0 { metrics?.recordDownloadFailover() }  // replicas before this one failed or were damaged
                let verifier = DigestVerifier(
                    expected: range == nil ? file.checksum : nil, first: first, rest: { try await source.next() },
                    onMismatch: { [self] in await self.markDamaged(file.key, on: candidate.id, status: .corrupt, reason: "served bytes differ from the stored SHA-256", logger: logger) })
                return DownloadPlan(
                    file: file, range: range, servedBy: candidate.id, nodeLatencyMs: await scoreboard.score(of: candidate.id)?.ewmaLatencyMs,
                    body: AnyByteStream(VerifiedByteStream(verifier: verifier)))
            } catch let error as NodeRequestError {
                await scoreboard.requestFinished(on: candidate.id, latency: nil, failed: !(error.isBlobNotFound))
                attempts.append(error.description)
                if error.isBlobNotFound {
                    await markDamaged(file.key, on: candidate.id, status: .missing, reason: "blob missing on node", logger: logger)
                }
                logger.warning("replica failed before the first byte; trying the next", metadata: ["file_key": "\(file.key)", "node_id": "\(candidate.id)", "error": "\(error)"])
            }
        }
        throw NoNodeAvailable(action: "download", attempts: attempts)
    }

    /// Opens a replica and reads its first chunk within `firstByteTimeout`, so a node that fails or hangs
    /// between the answer head and the first byte is skipped before anything reaches the client.
    private func firstBytes(of key: FileKey, from candidate: NodeScore, range: ByteRange?) async throws -> OpenedReplica {
        let nodes = self.nodes
        return try await withThrowingTaskGroup(of: OpenedReplica.self) { group in
            group.addTask {
                let started = ContinuousClock.now
                let stream = try await nodes.getBlob(key, from: candidate.endpoint, range: range)
                var iterator = stream.body.makeAsyncIterator()
                let first = try await iterator.next()
                return OpenedReplica(stream: stream, iterator: iterator, first: first, latency: ContinuousClock.now - started)
            }
            group.addTask { [firstByteTimeout] in
                try await Task.sleep(for: firstByteTimeout)
                throw NodeRequestError.unreachable(candidate.id, reason: "no first byte within \(firstByteTimeout)")
            }
            defer { group.cancelAll() }
            return try await group.next()!
        }
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

/// A replica opened and its first chunk read; handed from the racing child task to the request's task, which
/// alone uses it afterwards (hence `@unchecked Sendable`).
final class OpenedReplica: @unchecked Sendable {
    let stream: BlobReadStream
    let iterator: AnyByteStream.AsyncIterator
    let first: ByteBuffer?
    let latency: Duration

    init(stream: BlobReadStream, iterator: AnyByteStream.AsyncIterator, first: ByteBuffer?, latency: Duration) {
        self.stream = stream
        self.iterator = iterator
        self.first = first
        self.latency = latency
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
