import DFSCore
import Glibc
import Logging
import NIOCore
import NIOPosix
import Synchronization

/// A blob as the store committed it.
struct StoredBlob: Sendable, Equatable {
    var key: FileKey
    var digests: BlobDigests

    var sizeBytes: Int64 { digests.sizeBytes }
    var digest: SHA256Digest { digests.whole }
    var blockRoot: SHA256Digest { digests.blocks.root }
}

/// The node's blobs on local disk, written durably and read only as verified blocks; every blocking call runs on
/// `threads`.
final class BlobStore: Sendable {
    let layout: BlobLayout
    let threads: NIOThreadPool
    /// Serialises namespace changes (renames and unlinks under `blobs/`) so the blob count it guards stays
    /// exact under concurrent puts and deletes of one key. Held only for those quick calls, never for fsync.
    private let namespace: Mutex<BlobTally>
    /// The most the blobs may take (`dfs-node --capacity`); nil: whatever the file system holds.
    let capacityBytes: Int64?
    /// Whether digests go into the blob's extended attribute (one file, one fsync per blob) rather than a
    /// `.sha256` sidecar file (a second file, written and fsynced, and a second rename): decided at open by
    /// whether the file system keeps extended attributes.
    let digestsInAttribute: Bool
    /// Blocks that reads found damaged, reported to the gateway until the blob is rewritten or deleted.
    let damage = DamagedBlocks()
    /// Deleted keys: a put of one that finishes later is discarded (see `DeletedKeys`).
    let deletedKeys = DeletedKeys()
    /// Puts ready to be moved into place, made durable a batch at a time (see `BlobStore+GroupCommit`).
    let commits = GroupCommit<PendingCommit>()
    /// Directory fsyncs made by commit batches so far: one per changed shard directory per batch, so fewer than
    /// puts when batches share them.
    let directorySyncs = Atomic<Int>(0)
    /// Shard directories known to exist (created or found by a commit), so a put needs no mkdir.
    let knownShards = Mutex<Set<String>>([])

    private init(
        layout: BlobLayout, threads: NIOThreadPool, tally: BlobTally, digestsInAttribute: Bool, capacityBytes: Int64?
    ) {
        self.layout = layout
        self.threads = threads
        self.namespace = Mutex(tally)
        self.capacityBytes = capacityBytes
        self.digestsInAttribute = digestsInAttribute
    }

    /// A body up to this size is read before any disk work, then written, sealed and committed in one trip to
    /// the I/O threads instead of three (create, append, seal and rename).
    static let smallBodyBytes = 64 << 10

    /// Opens (creating if needed) the store at `root`, removes writes a crash left in `tmp/`, counts blobs once.
    /// - Parameter sidecarDigests: keep digests in `.sha256` files even where attributes work (tests of that layout).
    /// - Parameter capacityBytes: the most the blobs may take (`dfs-node --capacity`); nil: the file system's size.
    static func open(
        at root: String, threads: NIOThreadPool, logger: Logger, sidecarDigests: Bool = false, capacityBytes: Int64? = nil
    ) async throws -> BlobStore {
        let layout = BlobLayout(root: root)
        let (leftovers, tally, attributes) = try await threads.runIfActive {
            try POSIXFile.makeDirectories(layout.blobsDirectory)
            try POSIXFile.makeDirectories(layout.temporaryDirectory)
            var leftovers = 0
            for name in try POSIXFile.listDirectory(layout.temporaryDirectory) {
                if try POSIXFile.removeIfPresent(layout.temporaryDirectory + "/" + name) { leftovers += 1 }
            }
            return (leftovers, try measureBlobs(in: layout), try !sidecarDigests && keepsExtendedAttributes(layout))
        }
        if leftovers > 0 {
            logger.info("removed unfinished writes left by an earlier run", metadata: ["count": "\(leftovers)"])
        }
        if !attributes && !sidecarDigests {
            logger.notice(
                "this file system keeps no extended attributes: blob digests go to .sha256 files", metadata: ["data": "\(root)"])
        }
        return BlobStore(
            layout: layout, threads: threads, tally: tally, digestsInAttribute: attributes, capacityBytes: capacityBytes)
    }

    /// Whether a file in `tmp/` takes the digest attribute (ext4, xfs, btrfs do; some tmpfs and overlay mounts not).
    private static func keepsExtendedAttributes(_ layout: BlobLayout) throws -> Bool {
        let probe = layout.newTemporaryPath()
        let descriptor = try POSIXFile.createExclusive(probe)
        defer {
            close(descriptor)
            _ = try? POSIXFile.removeIfPresent(probe)
        }
        do {
            try POSIXFile.setAttribute(BlobLayout.digestAttribute, to: "probe", on: descriptor, path: probe)
            return true
        } catch BlobStoreError.systemCall(_, _, let code) where code == ENOTSUP || code == EOPNOTSUPP {
            return false
        }
    }

    /// Runs a quick namespace change (renames under `blobs/`) serialised with puts and deletes; `body` may adjust
    /// the blob count and bytes.
    func withNamespaceLock<T>(_ body: (inout BlobTally) throws -> T) throws -> T {
        try namespace.withLock { tally in try body(&tally) }
    }

    /// Blobs currently stored, kept up to date by puts and deletes (no disk scan).
    var blobCount: Int { namespace.withLock { $0.count } }

    /// Bytes of the blobs currently stored (their sizes; not the tables, sidecars or file system overhead).
    var storedBytes: Int64 { namespace.withLock { $0.bytes } }

    /// Free bytes for new blobs: the file system's, and no more than the capacity leaves.
    func availableBytes() async throws -> Int64 {
        try await space().freeBytes
    }

    /// What the node holds against what it may hold (`dfs-node --capacity`, else its file system's size).
    func space() async throws -> StoreSpace {
        let root = layout.root
        let disk = try await threads.runIfActive { try POSIXFile.space(at: root) }
        guard let capacityBytes else {
            return StoreSpace(capacityBytes: disk.total, usedBytes: disk.used, freeBytes: disk.available)
        }
        let stored = storedBytes
        return StoreSpace(
            capacityBytes: capacityBytes, usedBytes: stored, freeBytes: max(0, min(disk.available, capacityBytes - stored)))
    }

    /// Streams `body` into `key`, hashing the whole blob and each block while writing; durable and visible only once
    /// this returns.
    ///
    /// Durable: temp file in `tmp/`, the digest in its extended attribute, fsynced (a blob of more than
    /// `smallBodyBytes` at once, a smaller one in its commit batch), renamed into place and its directory fsynced
    /// in a group commit (`commit(_:)`); a blob of more than one block has its block table written and fsynced first and renamed just
    /// before it (with a digest sidecar instead of the attribute, each blob is committed alone: sidecar written and
    /// fsynced, renamed after the blob, directory fsynced). A body that fails midway, a digest other than `expectedDigest` or a block root other than
    /// `expectedBlockRoot` leaves nothing visible. An existing blob under `key` is replaced atomically.
    func put<Body: AsyncSequence>(
        _ key: FileKey,
        body: Body,
        expectedDigest: SHA256Digest? = nil,
        expectedBlockRoot: SHA256Digest? = nil,
        declaredSize: Int64? = nil
    ) async throws -> StoredBlob where Body.Element == ByteBuffer {
        try BlobLayout.checkStorable(key)
        if deletedKeys.contains(key) { throw BlobStoreError.deletedMeanwhile(key) }
        if let declaredSize { try await ensureRoom(for: declaredSize) }
        let layout = self.layout
        var chunks = body.makeAsyncIterator()
        var head: [ByteBuffer] = []
        var headBytes = 0
        var bodyEnded = false
        do {
            while headBytes < Self.smallBodyBytes {
                guard let chunk = try await chunks.next() else {
                    bodyEnded = true
                    break
                }
                headBytes += chunk.readableBytes
                head.append(chunk)
            }
        } catch {
            throw BlobStoreError.incompleteBody(reason: "\(error)")
        }
        let bufferedHead = head
        if bodyEnded {
            // A small blob's data is flushed in its commit batch, together with the others'.
            let prepared = try await threads.runIfActive {
                let draft = try Self.draft(in: layout, startingWith: bufferedHead)
                do {
                    return try self.prepare(
                        draft, expectedDigest: expectedDigest, expectedBlockRoot: expectedBlockRoot, syncData: false)
                } catch {
                    draft.discard()
                    throw error
                }
            }
            do {
                return try await commit(prepared, as: key)
            } catch {
                prepared.draft.discard()
                throw error
            }
        }
        let draft = try await threads.runIfActive { try Self.draft(in: layout, startingWith: bufferedHead) }
        do {
            try await receive(&chunks, into: draft)
            let prepared = try await threads.runIfActive {
                try self.prepare(draft, expectedDigest: expectedDigest, expectedBlockRoot: expectedBlockRoot, syncData: true)
            }
            return try await commit(prepared, as: key)
        } catch {
            // A close and an unlink: cheap enough to do inline, and it must happen even if the task was cancelled.
            draft.discard()
            throw error
        }
    }

    /// A new temp file holding `chunks`; nothing is left behind if writing them fails. Runs on the I/O threads.
    private static func draft(in layout: BlobLayout, startingWith chunks: [ByteBuffer]) throws -> BlobDraft {
        let draft = try BlobDraft(in: layout)
        do {
            for chunk in chunks { try draft.append(chunk) }
        } catch {
            draft.discard()
            throw error
        }
        return draft
    }

    /// Checks the digests, seals the draft and writes its block table; runs on the I/O threads.
    /// - Parameter syncData: whether the draft's data is flushed now (a large blob, whose flush takes long enough
    ///   to hold back a whole batch) or in its commit batch.
    private func prepare(
        _ draft: BlobDraft, expectedDigest: SHA256Digest?, expectedBlockRoot: SHA256Digest?, syncData: Bool
    ) throws -> PreparedBlob {
        let digests = draft.digests
        if let expectedDigest, expectedDigest != digests.whole {
            throw BlobStoreError.digestMismatch(expected: expectedDigest, actual: digests.whole)
        }
        if let expectedBlockRoot, expectedBlockRoot != digests.blocks.root {
            throw BlobStoreError.blockRootMismatch(expected: expectedBlockRoot, actual: digests.blocks.root)
        }
        // Without attributes the digest sidecar is written apart and every step keeps its own fsync.
        try draft.seal(digestAttribute: digestsInAttribute ? digests.whole : nil, syncData: syncData || !digestsInAttribute)
        // A blob of one block needs no table: its single block digest is its whole digest.
        let tableDraft = digests.blocks.count > 1 ? layout.newTemporaryPath() : nil
        if let tableDraft { try POSIXFile.writeDurably(BlockTableFile.encode(digests), to: tableDraft) }
        return PreparedBlob(draft: draft, digests: digests, tableDraft: tableDraft)
    }

    /// Moves a prepared blob into place, durably: in a group commit where digests live in attributes, else alone.
    private func commit(_ prepared: PreparedBlob, as key: FileKey) async throws -> StoredBlob {
        defer { prepared.removeTableDraft() }  // still there only if a step failed
        if digestsInAttribute {
            try await commits.submit(
                PendingCommit(blob: prepared, key: key), committingWith: { [self] batch in await self.commit(batch) })
        } else {
            try await threads.runIfActive { try self.commitWithSidecar(prepared, as: key) }
        }
        damage.forget(key)
        return StoredBlob(key: key, digests: prepared.digests)
    }

    /// Removes a blob and its sidecars; returns false if there was none. With `barringLatePuts` (a file's deletion),
    /// puts of the key that finish afterwards are discarded.
    func delete(_ key: FileKey, barringLatePuts: Bool = true) async throws -> Bool {
        try BlobLayout.checkStorable(key)
        let blobPath = layout.blobPath(for: key)
        let sidecars = [layout.digestPath(for: key), layout.blocksPath(for: key)]
        let shard = layout.shardDirectory(for: key)
        let removed = try await threads.runIfActive {
            let removed = try self.namespace.withLock { tally in
                // Under the namespace lock, as commits check it there: a put either lands before this delete
                // (and is removed now) or finds the key deleted and discards its bytes.
                if barringLatePuts { self.deletedKeys.insert(key) }
                let size = try POSIXFile.status(of: blobPath)?.sizeBytes
                let removed = try POSIXFile.removeIfPresent(blobPath)
                // After the blob: a crash in between leaves lone sidecars, which nothing reads.
                for sidecar in sidecars { try POSIXFile.removeIfPresent(sidecar) }
                if removed { tally.remove(bytes: size ?? 0) }
                return removed
            }
            if removed { try POSIXFile.syncDirectory(shard) }
            return removed
        }
        damage.forget(key)
        return removed
    }

    // MARK: - writing

    /// Refuses a blob that would take the store past its capacity (a body of unannounced length is only measured
    /// once received). Runs under the namespace lock, where the tally is exact.
    func checkCapacity(for size: Int64, replacing previous: Int64?, in tally: BlobTally) throws {
        guard let capacityBytes else { return }
        let after = tally.bytes - (previous ?? 0) + size
        if after > capacityBytes {
            throw BlobStoreError.insufficientStorage(
                detail: "a blob of \(size) bytes would take this node to \(after) of its \(capacityBytes)-byte capacity")
        }
    }

    private func ensureRoom(for declaredSize: Int64) async throws {
        let available = try await availableBytes()
        if declaredSize > available {
            throw BlobStoreError.insufficientStorage(
                detail: "a blob of \(declaredSize) bytes does not fit in \(available) free bytes")
        }
    }

    /// Bytes of a large body gathered before one trip to the I/O threads hashes and writes them. A trip per network
    /// chunk (16-64 KiB) cost the nodes about a fifth of their CPU on 64 MiB uploads in wake-ups and context
    /// switches (`perf`, futex and `finish_task_switch`); a batch is written while the next one is received, so at
    /// most two batches of a body are in memory.
    static let writeBatchBytes = 256 << 10

    /// Writes the rest of the body as it arrives, a batch at a time; body failures become `incompleteBody`, disk
    /// failures pass through. Returns only once no write of the draft is under way, whatever happened.
    private func receive<Chunks: AsyncIteratorProtocol>(_ chunks: inout Chunks, into draft: BlobDraft) async throws
    where Chunks.Element == ByteBuffer {
        let threads = self.threads
        var writing: Task<Void, any Error>?
        var batch: [ByteBuffer] = []
        var batchBytes = 0
        func writeBatch() async throws {
            // One write at a time: the draft appends in arrival order and is touched by one job at a time.
            try await writing?.value
            let chunks = batch
            writing = Task { try await threads.runIfActive { for chunk in chunks { try draft.append(chunk) } } }
            batch = []
            batchBytes = 0
        }
        do {
            while true {
                let next: ByteBuffer?
                do {
                    next = try await chunks.next()
                } catch {
                    throw BlobStoreError.incompleteBody(reason: "\(error)")
                }
                guard let chunk = next else { break }
                batch.append(chunk)
                batchBytes += chunk.readableBytes
                if batchBytes >= Self.writeBatchBytes { try await writeBatch() }
            }
            if !batch.isEmpty { try await writeBatch() }
            try await writing?.value
        } catch {
            // The caller discards the draft: no write of it may still be running then.
            _ = try? await writing?.value
            throw error
        }
    }

    /// Moves a sealed draft into place with its digest in a sidecar (a file system without extended attributes),
    /// each step fsynced; runs on the I/O threads.
    private func commitWithSidecar(_ prepared: PreparedBlob, as key: FileKey) throws {
        let blobPath = layout.blobPath(for: key)
        let digestPath = layout.digestPath(for: key)
        let shard = layout.shardDirectory(for: key)
        let digestDraft = layout.newTemporaryPath()
        try POSIXFile.writeDurably(prepared.digests.whole.hex + "\n", to: digestDraft)
        defer { _ = try? POSIXFile.removeIfPresent(digestDraft) }  // still there only if a step below failed
        if try POSIXFile.makeDirectory(shard) { try POSIXFile.syncDirectory(layout.blobsDirectory) }
        try namespace.withLock { tally in
            if deletedKeys.contains(key) { throw BlobStoreError.deletedMeanwhile(key) }
            let previous = try POSIXFile.status(of: blobPath)
            try checkCapacity(for: prepared.digests.blocks.sizeBytes, replacing: previous?.sizeBytes, in: tally)
            // Drop the old digest first: a crash between the renames then leaves a blob without a
            // digest (served without x-checksum-sha256), never a digest that describes other bytes.
            try POSIXFile.removeIfPresent(digestPath)
            try placeTable(of: prepared, as: key)
            try POSIXFile.rename(prepared.draft.path, to: blobPath)
            tally.place(bytes: prepared.digests.blocks.sizeBytes, replacing: previous?.sizeBytes)
            try POSIXFile.rename(digestDraft, to: digestPath)
        }
        try POSIXFile.syncDirectory(shard)
    }

    /// Puts a blob's table in place (or drops a stale one) just before the blob: a crash between the two renames
    /// leaves a table whose size and whole digest do not match the blob there, which readers ignore.
    func placeTable(of prepared: PreparedBlob, as key: FileKey) throws {
        let blocksPath = layout.blocksPath(for: key)
        if let tableDraft = prepared.tableDraft {
            try POSIXFile.rename(tableDraft, to: blocksPath)
        } else {
            try POSIXFile.removeIfPresent(blocksPath)
        }
    }
}
