import DFSCore
import NIOCore

/// The body of one GET: the part of a blob the plan names, in chunks that were each checked before being handed
/// out. With block digests, every chunk is one whole block read and hashed, then cut to the part asked for; a block
/// that does not match is recorded as damaged and ends the read with `blobCorrupt`, so nothing of it leaves the
/// node. Without them (an older blob read whole), the last chunk is held back until the whole SHA-256 matched, and
/// the block digests computed on the way are recorded for later reads.
///
/// `@unchecked Sendable`: made on an I/O thread, then iterated by one task, the response writer; each trip to the
/// I/O threads is awaited before the next starts.
final class VerifiedBlobRead: @unchecked Sendable {
    let blob: OpenBlob
    let plan: BlobReadPlan
    let trusted: TrustedBlocks
    private let store: BlobStore
    private var ready: ByteBuffer?
    /// With block digests: the next block to read and the last one the plan needs.
    private var nextBlock = 0
    private var lastBlock = -1
    /// Whole-blob mode: where the next chunk starts, the hash so far.
    private var offset: Int64 = 0
    private var hasher = BlobHasher()

    init(blob: OpenBlob, plan: BlobReadPlan, trusted: TrustedBlocks, store: BlobStore) {
        self.blob = blob
        self.plan = plan
        self.trusted = trusted
        self.blockRoot = trusted.blocks?.root
        self.store = store
    }

    var verification: BlobReadVerification { trusted.blocks == nil ? .whole : .blocks }
    /// Computed once: the node checks it against the recorded root and reports it in a header.
    let blockRoot: SHA256Digest?

    /// The whole answer, already read and checked while opening, when the plan fits in its first block: such a
    /// body can never be cut short, so it goes out with a plain Content-Length in one write.
    var completeBody: ByteBuffer? {
        guard trusted.blocks != nil, nextBlock > lastBlock, let ready, Int64(ready.readableBytes) == plan.length else {
            return nil
        }
        return ready
    }

    /// Reads and checks the first chunk; runs on the I/O threads, while opening.
    func prepareFirst() throws {
        guard plan.length > 0 else { return }
        if let blocks = trusted.blocks {
            let covering = blocks.blocks(covering: ByteRange(first: plan.offset, last: plan.offset + plan.length - 1))
            nextBlock = covering.lowerBound
            lastBlock = covering.upperBound
            ready = try readNextBlock(blocks)
        } else {
            ready = try readWholeChunk()
        }
    }

    /// The next checked chunk, nil at the end of the plan.
    func next() async throws -> ByteBuffer? {
        if let blocks = trusted.blocks {
            // Each block is checked before it is handed out, so none needs holding back: a bad one ends the read
            // right after the last good one.
            if let chunk = ready {
                ready = nil
                return chunk
            }
            guard nextBlock <= lastBlock else { return nil }
            return try await store.threads.runIfActive { try self.readNextBlock(blocks) }
        }
        // Whole-blob mode holds one chunk back: the last one leaves only once the whole SHA-256 matched.
        guard let chunk = ready else { return nil }
        ready = try await store.threads.runIfActive { try self.readWholeChunk() }
        return chunk
    }

    /// One block, checked, cut to the plan. Runs on the I/O threads.
    private func readNextBlock(_ blocks: BlobBlocks) throws -> ByteBuffer {
        let index = nextBlock
        nextBlock += 1
        let span = blocks.span(ofBlock: index)
        let bytes: ByteBuffer
        do {
            bytes = try blob.readExactly(offset: span.lowerBound, length: span.count)
        } catch let BlobStoreError.blobCorrupt(_, reason) {
            store.damage.record(index, of: blob.key)
            throw BlobStoreError.blobCorrupt(blob.key, reason: "block \(index): \(reason)")
        }
        guard blocks.matches(block: index, bytes) else {
            store.damage.record(index, of: blob.key)
            throw BlobStoreError.blobCorrupt(
                blob.key, reason: "block \(index) (bytes \(span.lowerBound)-\(span.upperBound - 1)) no longer matches its digest")
        }
        let from = max(plan.offset, span.lowerBound)
        let to = min(plan.offset + plan.length, span.upperBound)
        return bytes.getSlice(at: bytes.readerIndex + Int(from - span.lowerBound), length: Int(to - from))!
    }

    /// Whole-blob mode: the chunk after the one held back, or nil at the end once the SHA-256 matched. Runs on the
    /// I/O threads.
    private func readWholeChunk() throws -> ByteBuffer? {
        let size = blob.metadata.sizeBytes
        guard offset < size else {
            let digests = hasher.finalize()
            guard digests.whole == trusted.reference else {
                throw BlobStoreError.blobCorrupt(
                    blob.key, reason: "its bytes hash to \(digests.whole.hex), not the recorded \(trusted.reference.hex)")
            }
            // Best effort: the read itself is already verified.
            try? store.recordBlocks(digests, of: blob)
            return nil
        }
        let length = Int(min(Int64(hasher.blockSize), size - offset))
        let chunk = try blob.readExactly(offset: offset, length: length)
        hasher.update(chunk)
        offset += Int64(length)
        return chunk
    }
}
