import DFSCore
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

@testable import StorageNode

/// Flips one byte of a file on disk, as bit rot would: the recorded digests stay as they were.
func rotByte(at offset: Int, in path: String) throws {
    let handle = try #require(FileHandle(forUpdatingAtPath: path))
    defer { try? handle.close() }
    try handle.seek(toOffset: UInt64(offset))
    let byte = try #require(try handle.read(upToCount: 1)?.first)
    try handle.seek(toOffset: UInt64(offset))
    try handle.write(contentsOf: Data([byte ^ 0x20]))
}

/// Whether two byte arrays are equal, as a Bool: `#expect(a == b)` on megabytes makes a failure diff them for minutes.
func same(_ a: [UInt8], _ b: [UInt8]) -> Bool { a == b }

/// Everything a verified read hands out, and the error that ended it early, if any.
func drain(_ read: VerifiedBlobRead) async -> (bytes: [UInt8], error: (any Error)?) {
    var bytes: [UInt8] = []
    do {
        while let chunk = try await read.next() { bytes += chunk.readableBytesView }
        return (bytes, nil)
    } catch {
        return (bytes, error)
    }
}

@Suite("Block digests on the node")
struct BlockVerificationTests {
    static let blockSize = BlobBlocks.standardBlockSize
    let data = testBytes(3 * blockSize + 12_345, seed: 77)

    func expectation(_ bytes: [UInt8]) -> BlobExpectation {
        var hasher = BlobHasher()
        hasher.update(ByteBuffer(bytes: bytes))
        let digests = hasher.finalize()
        return BlobExpectation(digest: digests.whole, blockRoot: digests.blocks.root)
    }

    func isCorrupt(_ error: (any Error)?) -> Bool {
        if case BlobStoreError.blobCorrupt? = error as? BlobStoreError { return true }
        return false
    }

    @Test("a blob of several blocks gets a block table beside it; a blob of one block needs none")
    func tableOnlyForSeveralBlocks() async throws {
        try await withTemporaryDirectory { root in
            let store = try await openStore(at: root)
            let big = try FileKey(validating: "big")
            let small = try FileKey(validating: "small")
            let stored = try await store.put(big, body: chunkedBody(data, chunkSize: 100_000))
            #expect(stored.blockRoot == expectation(data).blockRoot)
            _ = try await store.put(small, body: chunkedBody(Array(data.prefix(Self.blockSize))))
            #expect(filesBelow(root) == ["blobs/bi/big", "blobs/bi/big.blocks", "blobs/sm/small"])
            let inventory = try await store.inventory(after: nil, limit: 10)
            #expect(inventory.blobs.map(\.key) == ["big", "small"], "the table is not a blob")
            #expect(try await store.delete(big))
            #expect(filesBelow(root) == ["blobs/sm/small"], "a delete takes the table too")
        }
    }

    @Test(
        "any range reads whole blocks and hands out exactly the bytes asked for",
        arguments: [
            "bytes=0-0", "bytes=0-1048575", "bytes=1048570-1048600", "bytes=2000000-2100000", "bytes=3000000-", "bytes=-7",
            "bytes=0-",
        ])
    func ranges(_ header: String) async throws {
        try await withTemporaryDirectory { root in
            let store = try await openStore(at: root)
            let key = try FileKey(validating: "ranged")
            _ = try await store.put(key, body: chunkedBody(data))
            let read = try await store.openVerified(key, BlobReadRequest(rangeHeader: header, expectation: expectation(data)))
            let (bytes, error) = await drain(read)
            #expect(error == nil)
            let first = Int(read.plan.offset)
            #expect(
                same(bytes, Array(data[first..<(first + Int(read.plan.length))])),
                "\(bytes.count) bytes, \(error.map { "\($0)" } ?? "")")
            #expect(read.verification == .blocks)
        }
    }

    @Test("a rotten block is never handed out: ranges before it are served, a read reaching it stops before it")
    func rottenBlock() async throws {
        try await withTemporaryDirectory { root in
            let store = try await openStore(at: root)
            let key = try FileKey(validating: "rotten")
            _ = try await store.put(key, body: chunkedBody(data))
            try rotByte(at: 2 * Self.blockSize + 99, in: root + "/blobs/ro/rotten")
            let intact = try await store.openVerified(
                key, BlobReadRequest(rangeHeader: "bytes=0-2097151", expectation: expectation(data)))
            let served = await drain(intact)
            #expect(
                served.error == nil && same(served.bytes, Array(data[0..<(2 * Self.blockSize)])),
                "\(served.bytes.count), \(String(describing: served.error))")

            let whole = try await store.openVerified(key, BlobReadRequest(rangeHeader: nil, expectation: expectation(data)))
            let cut = await drain(whole)
            #expect(isCorrupt(cut.error))
            #expect(
                same(cut.bytes, Array(data[0..<(2 * Self.blockSize)])),
                "exactly the blocks before the rotten one, not \(cut.bytes.count) bytes")
            #expect(store.damage.blocks(of: key) == [2])

            await #expect(throws: BlobStoreError.self, "the rotten block first: refused before anything is handed out") {
                _ = try await store.openVerified(
                    key, BlobReadRequest(rangeHeader: "bytes=2097200-2097300", expectation: self.expectation(data)))
            }
            let verification = try await store.verify(key, expectation: expectation(data))
            #expect(!verification.intact && verification.damagedBlocks == [2])
            #expect(verification.blockRoot == expectation(data).blockRoot?.hex)
        }
    }

    @Test("a copy that is not the one the caller recorded is refused")
    func otherCopyRefused() async throws {
        try await withTemporaryDirectory { root in
            let store = try await openStore(at: root)
            let key = try FileKey(validating: "other")
            _ = try await store.put(key, body: chunkedBody(data))
            var different = data
            different[5] ^= 1
            let otherDigest = expectation(different)
            await #expect(throws: BlobStoreError.self) {
                _ = try await store.openVerified(key, BlobReadRequest(rangeHeader: nil, expectation: otherDigest))
            }
            var otherRoot = expectation(data)
            otherRoot.blockRoot = otherDigest.blockRoot
            await #expect(throws: BlobStoreError.self) {
                _ = try await store.openVerified(key, BlobReadRequest(rangeHeader: "bytes=0-10", expectation: otherRoot))
            }
            #expect(try await store.verify(key, expectation: otherRoot).intact == false)
        }
    }

    @Test("a blob written before block digests: read whole with the last chunk held back, its blocks recorded afterwards")
    func olderBlobFullRead() async throws {
        try await withTemporaryDirectory { root in
            let store = try await openStore(at: root)
            let key = try FileKey(validating: "older")
            _ = try await store.put(key, body: chunkedBody(data))
            let table = root + "/blobs/ol/older.blocks"
            try FileManager.default.removeItem(atPath: table)
            let read = try await store.openVerified(
                key, BlobReadRequest(rangeHeader: nil, expectation: BlobExpectation(digest: sha256(data), blockRoot: nil)))
            #expect(read.verification == .whole && read.blockRoot == nil)
            let (bytes, error) = await drain(read)
            #expect(error == nil && same(bytes, data), "\(bytes.count), \(String(describing: error))")
            #expect(FileManager.default.fileExists(atPath: table), "the whole read recorded the blocks it hashed")
            let again = try await store.openVerified(
                key, BlobReadRequest(rangeHeader: "bytes=5-9", expectation: expectation(data)))
            #expect(again.verification == .blocks)
        }
    }

    @Test("a damaged blob written before block digests is cut before its last chunk and gets no table")
    func olderBlobDamaged() async throws {
        try await withTemporaryDirectory { root in
            let store = try await openStore(at: root)
            let key = try FileKey(validating: "older")
            _ = try await store.put(key, body: chunkedBody(data))
            try FileManager.default.removeItem(atPath: root + "/blobs/ol/older.blocks")
            try rotByte(at: 10, in: root + "/blobs/ol/older")
            let read = try await store.openVerified(key, BlobReadRequest(rangeHeader: nil, expectation: nil))
            let (bytes, error) = await drain(read)
            #expect(isCorrupt(error))
            #expect(bytes.count < data.count, "the last chunk is held back until the SHA-256 matched")
            #expect(!FileManager.default.fileExists(atPath: root + "/blobs/ol/older.blocks"))
            await #expect(throws: BlobStoreError.self, "a range of it needs the whole SHA-256 first") {
                _ = try await store.openVerified(key, BlobReadRequest(rangeHeader: "bytes=3000000-3000010", expectation: nil))
            }
            let verification = try await store.verify(key, expectation: nil)
            #expect(!verification.intact && !verification.blocksComputed)
        }
    }

    @Test("a range of a blob written before block digests computes and records them first; so does a verification")
    func olderBlobRangeAndVerify() async throws {
        try await withTemporaryDirectory { root in
            let store = try await openStore(at: root)
            for name in ["olda", "oldb"] {
                _ = try await store.put(try FileKey(validating: name), body: chunkedBody(data))
                try FileManager.default.removeItem(atPath: root + "/blobs/ol/\(name).blocks")
            }
            let read = try await store.openVerified(
                try FileKey(validating: "olda"), BlobReadRequest(rangeHeader: "bytes=3000000-3000010", expectation: nil))
            #expect(read.verification == .blocks && read.blockRoot == expectation(data).blockRoot)
            #expect(same(await drain(read).bytes, Array(data[3_000_000...3_000_010])))
            #expect(FileManager.default.fileExists(atPath: root + "/blobs/ol/olda.blocks"))
            let verification = try await store.verify(
                try FileKey(validating: "oldb"), expectation: BlobExpectation(digest: sha256(data), blockRoot: nil))
            #expect(
                verification.intact && verification.blocksComputed && verification.blockRoot == expectation(data).blockRoot?.hex)
            #expect(FileManager.default.fileExists(atPath: root + "/blobs/ol/oldb.blocks"))
        }
    }

    @Test("a table left by another write of the key (a crash between renames) is ignored, never trusted")
    func staleTableIgnored() async throws {
        try await withTemporaryDirectory { root in
            let store = try await openStore(at: root)
            let key = try FileKey(validating: "stale")
            var other = data
            other[0] ^= 1
            _ = try await store.put(key, body: chunkedBody(other))
            let staleTable = try Data(contentsOf: URL(fileURLWithPath: root + "/blobs/st/stale.blocks"))
            _ = try await store.put(key, body: chunkedBody(data))
            try staleTable.write(to: URL(fileURLWithPath: root + "/blobs/st/stale.blocks"))
            let read = try await store.openVerified(key, BlobReadRequest(rangeHeader: nil, expectation: nil))
            #expect(read.verification == .whole, "the stale table describes other bytes")
            #expect(same(await drain(read).bytes, data))
        }
    }

    @Test(
        "through the routes: GET says how it verified, a bad first block is 422 blob_corrupt, HEAD lists damage, verify reports it"
    )
    func routes() async throws {
        try await withRoutedNode { client, _, root in
            let put = try await client.execute(uri: "/blobs/rv", method: .put, body: ByteBuffer(bytes: data))
            #expect(put.status == .ok)
            let expected = expectation(data)
            let headers: HTTPFields = [.dfsExpectedDigest: expected.digest.hex, .dfsExpectedBlockRoot: expected.blockRoot!.hex]
            var ranged = headers
            ranged[.range] = "bytes=1048576-1048675"
            let get = try await client.execute(uri: "/blobs/rv", method: .get, headers: ranged)
            #expect(
                get.status == .partialContent && get.headers[.dfsVerified] == "blocks"
                    && get.headers[.dfsBlockRoot] == expected.blockRoot?.hex)
            #expect(same(Array(get.body.readableBytesView), Array(data[1_048_576...1_048_675])))

            try rotByte(at: 1_048_600, in: root + "/blobs/rv/rv")
            let refused = try await client.execute(uri: "/blobs/rv", method: .get, headers: ranged)
            #expect(refused.status == .unprocessableContent)
            #expect(try decode(ErrorBody.self, refused.body).error == "blob_corrupt")
            let head = try await client.execute(uri: "/blobs/rv", method: .head)
            #expect(head.headers[.dfsDamagedBlocks] == "1")
            let verify = try await client.execute(uri: "/blobs/rv/verify", method: .post, headers: headers)
            let verification = try decode(BlobVerification.self, verify.body)
            #expect(verify.status == .ok && !verification.intact && verification.damagedBlocks == [1])
            let wrong = try await client.execute(
                uri: "/blobs/rv", method: .get, headers: [.dfsExpectedBlockRoot: expected.digest.hex])
            #expect(wrong.status == .badRequest, "a block root alone cannot be checked")
        }
    }
}
