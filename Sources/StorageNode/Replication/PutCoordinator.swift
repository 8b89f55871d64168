import DFSCore
import Logging
import NIOCore

/// Stores an incoming blob locally and, when the gateway names targets, streams the same bytes to them
/// in parallel while they arrive.
///
/// Each chunk is handed to one `ChunkPipe` per consumer: the local store and every target. Pipes are
/// bounded, so memory stays at a few chunks per consumer whatever the blob size. A target that fails
/// has its pipe cancelled and is skipped from then on; only the local write decides the put's fate.
struct PutCoordinator: Sendable {
    let nodeID: NodeID
    let store: BlobStore
    let replicator: ReplicaStreamer
    /// Chunks buffered per consumer before the upload waits for it.
    var pipeCapacity = 4

    func put<Body: AsyncSequence>(
        _ key: FileKey,
        body: Body,
        length: Int64?,
        expectedDigest: SHA256Digest?,
        expectedBlockRoot: SHA256Digest? = nil,
        targets: [NodeEndpoint],
        replicaIdleLimit: Duration? = nil,
        logger: Logger
    ) async throws -> BlobPutResult where Body.Element == ByteBuffer {
        let targets = Self.replicationTargets(from: targets, excluding: nodeID)
        if targets.isEmpty {
            let stored = try await store.put(
                key, body: body, expectedDigest: expectedDigest, expectedBlockRoot: expectedBlockRoot, declaredSize: length)
            return result(for: stored, replicas: [])
        }
        return try await putAndReplicate(
            key, body: body, length: length, expectedDigest: expectedDigest, expectedBlockRoot: expectedBlockRoot,
            targets: targets, replicaIdleLimit: replicaIdleLimit, logger: logger)
    }

    private func result(for stored: StoredBlob, replicas: [ReplicaOutcome]) -> BlobPutResult {
        BlobPutResult(
            nodeID: nodeID.rawValue, key: stored.key.rawValue, sizeBytes: stored.sizeBytes, checksumSHA256: stored.digest.hex,
            blockRoot: stored.blockRoot.hex, replicas: replicas)
    }

    /// Drops this node and repeated ids: replicating to ourselves would overwrite the blob being written.
    static func replicationTargets(from requested: [NodeEndpoint], excluding nodeID: NodeID) -> [NodeEndpoint] {
        var seen: Set<NodeID> = [nodeID]
        return requested.filter { seen.insert($0.id).inserted }
    }

    private enum Finished: Sendable {
        case local(Result<StoredBlob, any Error>)
        case replica(index: Int, ReplicaOutcome)
    }

    private func putAndReplicate<Body: AsyncSequence>(
        _ key: FileKey,
        body: Body,
        length: Int64?,
        expectedDigest: SHA256Digest?,
        expectedBlockRoot: SHA256Digest?,
        targets: [NodeEndpoint],
        replicaIdleLimit: Duration?,
        logger: Logger
    ) async throws -> BlobPutResult where Body.Element == ByteBuffer {
        let localPipe = ChunkPipe(capacity: pipeCapacity)
        let targetPipes = targets.map { _ in ChunkPipe(capacity: pipeCapacity) }
        let (stored, outcomes) = await withTaskGroup(of: Finished.self) { group in
            group.addTask { [store] in
                defer { localPipe.cancel() }  // a failed local write must not leave the feeder waiting
                do {
                    return .local(
                        .success(
                            try await store.put(
                                key, body: localPipe, expectedDigest: expectedDigest, expectedBlockRoot: expectedBlockRoot,
                                declaredSize: length)))
                } catch {
                    return .local(.failure(error))
                }
            }
            for (index, target) in targets.enumerated() {
                group.addTask { [replicator] in
                    let outcome = await replicator.replicate(
                        key, from: targetPipes[index], to: target, length: length, expectedDigest: expectedDigest,
                        expectedBlockRoot: expectedBlockRoot, idleLimit: replicaIdleLimit, logger: logger
                    )
                    return .replica(index: index, outcome)
                }
            }
            Self.finish(localPipe, targetPipes, after: await Self.feed(body, to: localPipe, and: targetPipes))

            var stored: Result<StoredBlob, any Error>?
            var outcomes = [ReplicaOutcome?](repeating: nil, count: targets.count)
            for await finished in group {
                switch finished {
                case .local(let result): stored = result
                case .replica(let index, let outcome): outcomes[index] = outcome
                }
            }
            return (stored!, outcomes.map { $0! })
        }
        return result(for: try stored.get(), replicas: outcomes)
    }

    private enum FeedEnd {
        case complete
        case sourceFailed(any Error)
        case localStopped
    }

    /// Tees each chunk of the upload into every pipe, waiting on full ones (back-pressure).
    private static func feed<Body: AsyncSequence>(_ body: Body, to local: ChunkPipe, and targets: [ChunkPipe]) async -> FeedEnd
    where Body.Element == ByteBuffer {
        do {
            for try await chunk in body {
                // The local write first: if it failed there is no put left to replicate.
                guard await local.send(chunk) else { return .localStopped }
                for pipe in targets {
                    _ = await pipe.send(chunk)  // false: that target failed and is skipped from now on
                }
            }
            return .complete
        } catch {
            return .sourceFailed(error)
        }
    }

    /// Ends every stream so that no consumer waits forever; errors make targets abort their requests.
    private static func finish(_ local: ChunkPipe, _ targets: [ChunkPipe], after end: FeedEnd) {
        switch end {
        case .complete:
            local.finish()
            targets.forEach { $0.finish() }
        case .sourceFailed(let error):
            local.finish(throwing: error)
            targets.forEach { $0.finish(throwing: ReplicationAborted.sourceFailed("\(error)")) }
        case .localStopped:
            local.finish(throwing: ReplicationAborted.primaryWriteFailed)
            targets.forEach { $0.finish(throwing: ReplicationAborted.primaryWriteFailed) }
        }
    }
}
