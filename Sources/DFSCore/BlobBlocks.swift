import Crypto
import NIOCore

/// The per-block SHA-256 digests of one blob: what lets a node verify any byte range by reading only the blocks
/// that hold it, and what binds a copy to the bytes the gateway hashed at upload (through `root`).
///
/// Block `i` covers bytes `i * blockSize ..< min((i + 1) * blockSize, sizeBytes)`; an empty blob has no blocks.
public struct BlobBlocks: Sendable, Equatable {
    /// The block size every blob uses: a range read costs at most two blocks more than the range itself, and the
    /// table of a 1 GiB blob is 32 KiB.
    public static let standardBlockSize = 1 << 20

    public let blockSize: Int
    public let sizeBytes: Int64
    public let digests: [SHA256Digest]

    /// - Precondition: `digests.count` is the number of blocks a blob of `sizeBytes` has.
    public init(blockSize: Int = BlobBlocks.standardBlockSize, sizeBytes: Int64, digests: [SHA256Digest]) {
        precondition(blockSize > 0 && sizeBytes >= 0, "invalid block layout")
        precondition(digests.count == Self.blockCount(sizeBytes: sizeBytes, blockSize: blockSize), "one digest per block")
        self.blockSize = blockSize
        self.sizeBytes = sizeBytes
        self.digests = digests
    }

    public static func blockCount(sizeBytes: Int64, blockSize: Int) -> Int {
        Int((sizeBytes + Int64(blockSize) - 1) / Int64(blockSize))
    }

    public var count: Int { digests.count }

    /// The bytes block `index` covers.
    public func span(ofBlock index: Int) -> Range<Int64> {
        let start = Int64(index) * Int64(blockSize)
        return start..<min(start + Int64(blockSize), sizeBytes)
    }

    /// The blocks that hold every byte of `range` (which must lie inside the blob).
    public func blocks(covering range: ByteRange) -> ClosedRange<Int> {
        Int(range.first / Int64(blockSize))...Int(range.last / Int64(blockSize))
    }

    /// One digest over the block size, the blob's size and every block digest in order: equal roots mean equal
    /// bytes, so the gateway records only this and a node proves a copy by reporting it.
    public var root: SHA256Digest { Self.root(blockSize: blockSize, sizeBytes: sizeBytes, digests: digests) }

    public static func root(blockSize: Int, sizeBytes: Int64, digests: [SHA256Digest]) -> SHA256Digest {
        var hasher = Crypto.SHA256()
        var header = ByteBuffer()
        header.writeString("dfs-blocks-v1")
        header.writeInteger(UInt64(blockSize))
        header.writeInteger(UInt64(sizeBytes))
        header.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
        for digest in digests { digest.bytes.withUnsafeBytes { hasher.update(bufferPointer: $0) } }
        return SHA256Digest(hasher.finalize())
    }

    /// The digest of `bytes`, which must be exactly block `index`'s bytes, matches the recorded one.
    public func matches(block index: Int, _ bytes: ByteBuffer) -> Bool {
        guard digests.indices.contains(index), Int64(bytes.readableBytes) == Int64(span(ofBlock: index).count) else {
            return false
        }
        return SHA256Digest.of(bytes) == digests[index]
    }
}

extension SHA256Digest {
    /// The SHA-256 of a buffer's readable bytes.
    public static func of(_ buffer: ByteBuffer) -> SHA256Digest {
        buffer.withUnsafeReadableBytes { SHA256Digest(Crypto.SHA256.hash(data: $0)) }
    }
}

/// What hashing a whole blob yields: its SHA-256 (the file's identity) and its block digests.
public struct BlobDigests: Sendable, Equatable {
    public var whole: SHA256Digest
    public var blocks: BlobBlocks

    public init(whole: SHA256Digest, blocks: BlobBlocks) {
        self.whole = whole
        self.blocks = blocks
    }

    public var sizeBytes: Int64 { blocks.sizeBytes }
}

/// Incremental SHA-256 of a blob and of each of its blocks, over `ByteBuffer` chunks of any size.
///
/// The first block's digest is the whole-blob hash state at the block boundary (finalizing a copy does not end
/// the state), so a blob of one block — every file up to the block size — is hashed once, and larger ones a
/// little under twice.
public struct BlobHasher: Sendable {
    public let blockSize: Int
    private var whole = Crypto.SHA256()
    /// The current block's state from the second block on; the first block is read off `whole`.
    private var block: Crypto.SHA256?
    private var bytesInBlock = 0
    private var finishedBlocks: [SHA256Digest] = []
    public private(set) var byteCount: Int64 = 0

    public init(blockSize: Int = BlobBlocks.standardBlockSize) {
        precondition(blockSize > 0, "block size must be positive")
        self.blockSize = blockSize
    }

    public mutating func update(_ buffer: ByteBuffer) {
        buffer.withUnsafeReadableBytes { update(bytes: $0) }
    }

    public mutating func update(bytes: UnsafeRawBufferPointer) {
        var offset = 0
        while offset < bytes.count {
            let take = min(blockSize - bytesInBlock, bytes.count - offset)
            let piece = UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + take)])
            whole.update(bufferPointer: piece)
            block?.update(bufferPointer: piece)
            bytesInBlock += take
            offset += take
            if bytesInBlock == blockSize { closeBlock() }
        }
        byteCount += Int64(bytes.count)
    }

    private mutating func closeBlock() {
        finishedBlocks.append(SHA256Digest(block?.finalize() ?? whole.finalize()))
        block = Crypto.SHA256()
        bytesInBlock = 0
    }

    /// The whole digest so far (the hasher can go on).
    public var wholeDigest: SHA256Digest { SHA256Digest(whole.finalize()) }

    /// Both digests of every byte seen so far.
    public func finalize() -> BlobDigests {
        var digests = finishedBlocks
        if bytesInBlock > 0 { digests.append(SHA256Digest(block?.finalize() ?? whole.finalize())) }
        return BlobDigests(whole: wholeDigest, blocks: BlobBlocks(blockSize: blockSize, sizeBytes: byteCount, digests: digests))
    }
}
