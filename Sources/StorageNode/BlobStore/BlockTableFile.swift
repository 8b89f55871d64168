import DFSCore
import NIOCore

/// The on-disk form of a blob's block digests (`<key>.blocks`): a magic word, the block size, the blob's size and
/// whole SHA-256, then one 32-byte digest per block. The size and whole digest tie the table to its blob: a table
/// left from another write of the key (a crash between two renames) does not match and is ignored.
enum BlockTableFile {
    static let magic = "DFSBLK01"
    static let headerBytes = 8 + 4 + 8 + 32

    static func encode(_ digests: BlobDigests) -> ByteBuffer {
        let blocks = digests.blocks
        var buffer = ByteBufferAllocator().buffer(capacity: headerBytes + 32 * blocks.count)
        buffer.writeString(magic)
        buffer.writeInteger(UInt32(blocks.blockSize))
        buffer.writeInteger(UInt64(blocks.sizeBytes))
        buffer.writeBytes(digests.whole.bytes)
        for digest in blocks.digests { buffer.writeBytes(digest.bytes) }
        return buffer
    }

    /// The table, or nil when the bytes are not a complete, well-formed table.
    static func decode(_ buffer: ByteBuffer) -> BlobDigests? {
        var buffer = buffer
        guard buffer.readString(length: magic.utf8.count) == magic,
            let blockSize = buffer.readInteger(as: UInt32.self), blockSize > 0,
            let size = buffer.readInteger(as: UInt64.self), size <= UInt64(Int64.max),
            let wholeBytes = buffer.readBytes(length: 32), let whole = SHA256Digest(bytes: wholeBytes)
        else { return nil }
        let count = BlobBlocks.blockCount(sizeBytes: Int64(size), blockSize: Int(blockSize))
        guard buffer.readableBytes == 32 * count else { return nil }
        var digests: [SHA256Digest] = []
        digests.reserveCapacity(count)
        for _ in 0..<count {
            guard let bytes = buffer.readBytes(length: 32), let digest = SHA256Digest(bytes: bytes) else { return nil }
            digests.append(digest)
        }
        return BlobDigests(whole: whole, blocks: BlobBlocks(blockSize: Int(blockSize), sizeBytes: Int64(size), digests: digests))
    }

    /// Bytes of the table of a blob of `sizeBytes`: what a reader asks for.
    static func length(sizeBytes: Int64, blockSize: Int = BlobBlocks.standardBlockSize) -> Int {
        headerBytes + 32 * BlobBlocks.blockCount(sizeBytes: sizeBytes, blockSize: blockSize)
    }
}
