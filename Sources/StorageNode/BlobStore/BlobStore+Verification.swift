import DFSCore
import NIOCore

/// What a GET asks the store for: which part of the blob (`Range`) and what the caller recorded about it.
struct BlobReadRequest: Sendable {
    var rangeHeader: String?
    var expectation: BlobExpectation?
}

/// A blob's block digests as far as the node can trust them, and the whole digest they were checked against.
struct TrustedBlocks: Sendable {
    /// The whole-blob digest everything is checked against: the recorded one, else the caller's.
    var reference: SHA256Digest
    /// Nil for a blob of several blocks written before block digests existed (no valid `.blocks` table).
    var blocks: BlobBlocks?
}

extension BlobStore {
    /// Opens `key` for a read that sends only verified bytes (`VerifiedBlobRead`), after checking that the copy is
    /// the one the caller recorded. The first block the read needs is read and checked here, so a damaged one is
    /// refused (`blobCorrupt`) before any answer goes out. A blob without block digests gets them computed first
    /// when a part of it is asked for (one whole read), else it is streamed whole with its SHA-256 checked before the
    /// last chunk.
    func openVerified(_ key: FileKey, _ request: BlobReadRequest) async throws -> VerifiedBlobRead {
        try BlobLayout.checkStorable(key)
        let layout = self.layout
        let threads = self.threads
        return try await threads.runIfActive {
            let blob = try Self.openNow(key, in: layout, threads: threads)
            let plan = try BlobReadPlan(metadata: blob.metadata, rangeHeader: request.rangeHeader)
            var trusted = try self.trustedBlocks(of: blob, expectation: request.expectation)
            let wantsPart = plan.length != blob.metadata.sizeBytes
            if trusted.blocks == nil && (wantsPart || request.expectation?.blockRoot != nil) {
                trusted.blocks = try self.computeBlocks(of: blob, reference: trusted.reference).blocks
            }
            let read = VerifiedBlobRead(blob: blob, plan: plan, trusted: trusted, store: self)
            if let expected = request.expectation?.blockRoot, let root = read.blockRoot, root != expected {
                throw BlobStoreError.blobCorrupt(key, reason: "its block digests are not the ones recorded for it")
            }
            try read.prepareFirst()
            return read
        }
    }

    /// The reference digest and the block table of an open blob; refuses a copy that is not the one the caller
    /// recorded. Runs on the I/O threads.
    func trustedBlocks(of blob: OpenBlob, expectation: BlobExpectation?) throws -> TrustedBlocks {
        let key = blob.key
        let size = blob.metadata.sizeBytes
        if let recorded = blob.metadata.digest, let expected = expectation?.digest, recorded != expected {
            throw BlobStoreError.blobCorrupt(
                key, reason: "it was written with SHA-256 \(recorded.hex), not the expected \(expected.hex)")
        }
        guard let reference = blob.metadata.digest ?? expectation?.digest else {
            throw BlobStoreError.blobCorrupt(key, reason: "no digest is recorded or expected for it, so nothing can be verified")
        }
        let blockSize = BlobBlocks.standardBlockSize
        // A blob of at most one block needs no table: its block digest is its whole digest.
        if size <= Int64(blockSize) {
            return TrustedBlocks(reference: reference, blocks: BlobBlocks(sizeBytes: size, digests: size == 0 ? [] : [reference]))
        }
        let length = BlockTableFile.length(sizeBytes: size)
        guard let bytes = try POSIXFile.readFile(layout.blocksPath(for: key), limit: length + 1),
            let table = BlockTableFile.decode(bytes),
            table.whole == reference, table.blocks.sizeBytes == size, table.blocks.blockSize == blockSize
        else { return TrustedBlocks(reference: reference, blocks: nil) }
        return TrustedBlocks(reference: reference, blocks: table.blocks)
    }

    /// Reads a whole blob that has no block table, hashing it whole and per block; when its SHA-256 is the reference
    /// the table is recorded, so later reads of any part check only their blocks. Runs on the I/O threads.
    func computeBlocks(of blob: OpenBlob, reference: SHA256Digest) throws -> BlobDigests {
        var hasher = BlobHasher()
        let size = blob.metadata.sizeBytes
        var offset: Int64 = 0
        while offset < size {
            let length = Int(min(Int64(hasher.blockSize), size - offset))
            hasher.update(try blob.readExactly(offset: offset, length: length))
            offset += Int64(length)
        }
        let digests = hasher.finalize()
        guard digests.whole == reference else {
            throw BlobStoreError.blobCorrupt(
                blob.key, reason: "its bytes hash to \(digests.whole.hex), not the recorded \(reference.hex)")
        }
        try recordBlocks(digests, of: blob)
        return digests
    }

    /// Writes the block table of a blob that had none, durably, unless the key now names another file (it was
    /// replaced while being read, and the new file came with its own table). Runs on the I/O threads.
    func recordBlocks(_ digests: BlobDigests, of blob: OpenBlob) throws {
        guard digests.blocks.count > 1 else { return }
        let draft = layout.newTemporaryPath()
        try POSIXFile.writeDurably(BlockTableFile.encode(digests), to: draft)
        defer { _ = try? POSIXFile.removeIfPresent(draft) }
        let blobPath = layout.blobPath(for: blob.key)
        let placed = try withNamespaceLock { _ in
            guard try POSIXFile.status(of: blobPath)?.identity == blob.identity else { return false }
            try POSIXFile.rename(draft, to: layout.blocksPath(for: blob.key))
            return true
        }
        if placed { try POSIXFile.syncDirectory(layout.shardDirectory(for: blob.key)) }
    }

    /// Re-reads a whole blob block by block against its recorded digests (the bit-rot audit), computing and
    /// recording block digests for a blob that had none. Each block is its own trip to the I/O threads, so a large
    /// blob never holds a thread for long.
    func verify(_ key: FileKey, expectation: BlobExpectation?) async throws -> BlobVerification {
        try BlobLayout.checkStorable(key)
        let layout = self.layout
        let threads = self.threads
        let blob = try await threads.runIfActive { try Self.openNow(key, in: layout, threads: threads) }
        let recorded = blob.metadata.digest?.hex
        let trusted: TrustedBlocks
        do {
            trusted = try await threads.runIfActive { try self.trustedBlocks(of: blob, expectation: expectation) }
        } catch let BlobStoreError.blobCorrupt(_, reason) {
            return BlobVerification(
                sizeBytes: blob.metadata.sizeBytes, checksumSHA256: recorded, blockRoot: nil, damagedBlocks: [], intact: false,
                blocksComputed: false, problem: reason)
        }
        guard let blocks = trusted.blocks else {
            do {
                let digests = try await threads.runIfActive { try self.computeBlocks(of: blob, reference: trusted.reference) }
                let rootDiffers = expectation?.blockRoot.map { $0 != digests.blocks.root } ?? false
                return BlobVerification(
                    sizeBytes: blob.metadata.sizeBytes, checksumSHA256: recorded, blockRoot: digests.blocks.root.hex,
                    damagedBlocks: [],
                    intact: !rootDiffers, blocksComputed: true,
                    problem: rootDiffers ? "its block digests are not the ones recorded for it" : nil)
            } catch let BlobStoreError.blobCorrupt(_, reason) {
                // Without block digests there is no telling which block went bad.
                return BlobVerification(
                    sizeBytes: blob.metadata.sizeBytes, checksumSHA256: recorded, blockRoot: nil, damagedBlocks: [],
                    intact: false,
                    blocksComputed: false, problem: reason)
            }
        }
        var damaged: [Int] = []
        for index in 0..<blocks.count {
            let span = blocks.span(ofBlock: index)
            let matches = try await threads.runIfActive { () -> Bool in
                do {
                    return blocks.matches(block: index, try blob.readExactly(offset: span.lowerBound, length: span.count))
                } catch BlobStoreError.blobCorrupt {
                    return false
                }
            }
            if !matches {
                damaged.append(index)
                damage.record(index, of: key)
            }
        }
        var problem: String? =
            damaged.isEmpty ? nil : "blocks \(damaged.map(String.init).joined(separator: ",")) no longer match their digests"
        if let expected = expectation?.blockRoot, expected != blocks.root {
            problem = problem ?? "its block digests are not the ones recorded for it"
        }
        return BlobVerification(
            sizeBytes: blob.metadata.sizeBytes, checksumSHA256: recorded, blockRoot: blocks.root.hex, damagedBlocks: damaged,
            intact: problem == nil, blocksComputed: false, problem: problem)
    }
}
