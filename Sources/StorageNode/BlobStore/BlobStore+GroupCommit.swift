import DFSCore
import Glibc

/// A blob received, checked and sealed in `tmp/`, waiting to be moved into place.
struct PreparedBlob: Sendable {
    let draft: BlobDraft
    let digests: BlobDigests
    /// Its block table, written and fsynced in `tmp/`, for a blob of more than one block.
    let tableDraft: String?

    func removeTableDraft() {
        if let tableDraft { _ = try? POSIXFile.removeIfPresent(tableDraft) }
    }
}

/// One put in a commit batch.
struct PendingCommit: Sendable {
    let blob: PreparedBlob
    let key: FileKey
}

extension BlobStore {
    /// Commits a batch of puts with about two journal commits in all instead of two per put: each draft is fsynced
    /// (their writeback was started when they were sealed, so the first fsync's journal commit covers the block
    /// allocations of all of them and the others find their data written), then each is renamed into place, then
    /// each shard directory that changed is fsynced (the first commits every rename). A put answers only after
    /// its directory's fsync, so what it acknowledged survives a crash; before that, a crash leaves the key as it
    /// was (the old blob, or none) plus a draft in `tmp/` that the next start removes. Only the puts' own files are
    /// flushed, never the rest of the file system (`syncfs` would wait for every other writer's dirty pages too).
    /// One put's failure (its key deleted meanwhile) fails it alone. Runs in one trip to the I/O threads.
    func commit(_ batch: [PendingCommit]) async -> [Result<Void, any Error>] {
        do {
            return try await threads.runIfActive {
                var outcomes = batch.map { pending in Result { try pending.blob.draft.completeSync() } }
                // Who waits on which directory fsync: each changed shard, and `blobs/` for the shards created now.
                var waiting: [String: [Int]] = [:]
                for (index, pending) in batch.enumerated() where outcomes[index].isSuccess {
                    do {
                        if try self.place(pending.blob, as: pending.key) {
                            waiting[self.layout.blobsDirectory, default: []].append(index)
                        }
                        waiting[self.layout.shardDirectory(for: pending.key), default: []].append(index)
                    } catch {
                        outcomes[index] = .failure(error)
                    }
                }
                for (directory, indices) in waiting {
                    do {
                        try self.syncDirectoryCounted(directory)
                    } catch {
                        for index in indices { outcomes[index] = .failure(error) }
                    }
                }
                return outcomes
            }
        } catch {
            return Array(repeating: .failure(error), count: batch.count)
        }
    }

    /// Creates the key's shard directory unless this process saw it already (shards are never removed): returns
    /// whether it was created now.
    private func makeShardDirectory(for key: FileKey) throws -> Bool {
        let shard = layout.shardDirectory(for: key)
        if knownShards.withLock({ $0.contains(shard) }) { return false }
        let created = try POSIXFile.makeDirectory(shard)
        knownShards.withLock { _ = $0.insert(shard) }
        return created
    }

    private func syncDirectoryCounted(_ path: String) throws {
        directorySyncs.add(1, ordering: .relaxed)
        try POSIXFile.syncDirectory(path)
    }

    /// Renames one prepared blob (and its table) into place, not yet durably; returns whether its shard directory
    /// had to be created (then `blobs/` itself needs an fsync). Runs on the I/O threads.
    private func place(_ blob: PreparedBlob, as key: FileKey) throws -> Bool {
        let blobPath = layout.blobPath(for: key)
        let createdShard = try makeShardDirectory(for: key)
        // Should the shard have gone (removed by hand), this put fails and the next one creates it again.
        do {
            try moveIntoPlace(blob, as: key, at: blobPath)
        } catch {
            knownShards.withLock { _ = $0.remove(layout.shardDirectory(for: key)) }
            throw error
        }
        return createdShard
    }

    private func moveIntoPlace(_ blob: PreparedBlob, as key: FileKey, at blobPath: String) throws {
        try withNamespaceLock { tally in
            if deletedKeys.contains(key) { throw BlobStoreError.deletedMeanwhile(key) }
            let previous = try POSIXFile.status(of: blobPath)
            try checkCapacity(for: blob.digests.blocks.sizeBytes, replacing: previous?.sizeBytes, in: tally)
            if previous != nil {
                // A sidecar from before attributes were used would outlive the blob it described: drop it first.
                try POSIXFile.removeIfPresent(layout.digestPath(for: key))
                try placeTable(of: blob, as: key)
            } else if let tableDraft = blob.tableDraft {
                // A new key has no sidecar to drop; a table a crash left without its blob describes other bytes
                // (readers ignore it), and a new table replaces it.
                try POSIXFile.rename(tableDraft, to: layout.blocksPath(for: key))
            }
            try POSIXFile.rename(blob.draft.path, to: blobPath)
            tally.place(bytes: blob.digests.blocks.sizeBytes, replacing: previous?.sizeBytes)
        }
    }
}

extension Result {
    fileprivate var isSuccess: Bool {
        if case .success = self { return true }
        return false
    }
}
