import Crypto
import DFSCore
import NIOCore
import Testing

@Suite("Block digests")
struct BlobBlocksTests {
    static let blockSize = 1 << 10

    /// Bytes that do not repeat with any block-sized period, so no two blocks hash alike.
    func bytes(_ count: Int) -> [UInt8] {
        var state: UInt64 = 0x2545_F491_4F6C_DD1D
        return (0..<count).map { _ in
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return UInt8(truncatingIfNeeded: state)
        }
    }

    /// Each block hashed on its own, the slow obvious way.
    func expectedBlocks(_ data: [UInt8]) -> [DFSCore.SHA256Digest] {
        stride(from: 0, to: data.count, by: Self.blockSize).map { start in
            DFSCore.SHA256Digest(Crypto.SHA256.hash(data: data[start..<min(start + Self.blockSize, data.count)]))
        }
    }

    @Test(
        "whole and block digests equal hashing each part alone, whatever the chunking",
        arguments: [0, 1, blockSize - 1, blockSize, blockSize + 1, 3 * blockSize, 3 * blockSize + 5])
    func digestsMatchSeparateHashing(_ size: Int) {
        let data = bytes(size)
        for chunk in [1, 7, Self.blockSize, Self.blockSize + 3, max(1, size)] {
            var hasher = BlobHasher(blockSize: Self.blockSize)
            for start in stride(from: 0, to: data.count, by: chunk) {
                hasher.update(ByteBuffer(bytes: data[start..<min(start + chunk, data.count)]))
            }
            let digests = hasher.finalize()
            #expect(digests.whole == DFSCore.SHA256Digest(Crypto.SHA256.hash(data: data)), "size \(size), chunk \(chunk)")
            #expect(digests.blocks.digests == expectedBlocks(data), "size \(size), chunk \(chunk)")
            #expect(
                digests.blocks.sizeBytes == Int64(size) && digests.blocks.count == (size + Self.blockSize - 1) / Self.blockSize)
        }
    }

    @Test("a blob of one block has its whole digest as its block digest")
    func singleBlock() {
        var hasher = BlobHasher()
        hasher.update(ByteBuffer(bytes: bytes(4096)))
        let digests = hasher.finalize()
        #expect(digests.blocks.digests == [digests.whole])
    }

    @Test("the root changes with any block, the size or the block size")
    func rootBindsEverything() {
        let data = bytes(3 * Self.blockSize)
        var hasher = BlobHasher(blockSize: Self.blockSize)
        hasher.update(ByteBuffer(bytes: data))
        let blocks = hasher.finalize().blocks
        var changed = blocks.digests
        changed[1] = blocks.digests[0]
        #expect(BlobBlocks.root(blockSize: Self.blockSize, sizeBytes: blocks.sizeBytes, digests: changed) != blocks.root)
        #expect(
            BlobBlocks.root(blockSize: Self.blockSize * 2, sizeBytes: blocks.sizeBytes, digests: blocks.digests) != blocks.root)
        #expect(
            BlobBlocks.root(blockSize: Self.blockSize, sizeBytes: blocks.sizeBytes - 1, digests: blocks.digests) != blocks.root)
        #expect(BlobBlocks(blockSize: Self.blockSize, sizeBytes: blocks.sizeBytes, digests: blocks.digests).root == blocks.root)
    }

    @Test("spans and the blocks a range needs")
    func spansAndCovering() {
        let blocks = BlobBlocks(
            blockSize: 100, sizeBytes: 250,
            digests: Array(repeating: DFSCore.SHA256Digest(Crypto.SHA256.hash(data: [1])), count: 3))
        #expect(blocks.span(ofBlock: 0) == 0..<100 && blocks.span(ofBlock: 2) == 200..<250)
        #expect(blocks.blocks(covering: ByteRange(first: 0, last: 0)) == 0...0)
        #expect(blocks.blocks(covering: ByteRange(first: 99, last: 100)) == 0...1)
        #expect(blocks.blocks(covering: ByteRange(first: 150, last: 249)) == 1...2)
        #expect(!blocks.matches(block: 2, ByteBuffer(bytes: [1])), "a block of the wrong length never matches")
    }
}
