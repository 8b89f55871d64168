import DFSCore
import Foundation
import NIOCore
import Testing

@testable import StorageNode

@Suite("BlobStore on a temp directory")
struct BlobStoreTests {
    @Test("the digest computed while writing equals SHA-256 of the data, and the bytes read back are identical")
    func digestWhileWriting() async throws {
        try await withTemporaryDirectory { root in
            let store = try await openStore(at: root)
            let data = testBytes(1_000_003)
            let key = try FileKey(validating: "blob-1")
            let stored = try await store.put(key, body: chunkedBody(data, chunkSize: 65_536))
            #expect(stored.digest == sha256(data))
            #expect(stored.sizeBytes == Int64(data.count))
            #expect(try await readAll(store, key) == data)
            let metadata = try await store.metadata(of: key)
            #expect(metadata.digest == sha256(data))
            #expect(metadata.sizeBytes == Int64(data.count))
            #expect(store.blobCount == 1)
            // One file: the digest is the blob's extended attribute, made durable by the same fsync.
            #expect(store.digestsInAttribute)
            #expect(filesBelow(root) == ["blobs/bl/blob-1"])
            #expect(try digestAttribute(root + "/blobs/bl/blob-1") == sha256(data).hex)
        }
    }

    @Test(
        "small bodies (one trip to the I/O threads) and bodies just past the read-ahead store the same way",
        arguments: [
            1, 4096, BlobStore.smallBodyBytes - 1, BlobStore.smallBodyBytes, BlobStore.smallBodyBytes + 1,
            3 * BlobStore.smallBodyBytes,
        ])
    func sizesAroundTheReadAhead(_ size: Int) async throws {
        try await withTemporaryDirectory { root in
            let store = try await openStore(at: root)
            let data = testBytes(size, seed: UInt64(size))
            let key = try FileKey(validating: "size-\(size)")
            let stored = try await store.put(key, body: chunkedBody(data, chunkSize: 10_000), expectedDigest: sha256(data))
            #expect(stored.digest == sha256(data) && stored.sizeBytes == Int64(size))
            #expect(try await readAll(store, key) == data)
            #expect(try await store.metadata(of: key).digest == sha256(data))
            let wrong = testBytes(size, seed: 7)
            await #expect(throws: BlobStoreError.self) {
                try await store.put(
                    try FileKey(validating: "wrong-\(size)"), body: chunkedBody(wrong, chunkSize: 10_000),
                    expectedDigest: sha256(data))
            }
            #expect(filesBelow(root) == ["blobs/si/size-\(size)"])
        }
    }

    @Test("where digests go to .sha256 sidecars (no extended attributes), blobs are stored and read the same")
    func sidecarLayout() async throws {
        try await withTemporaryDirectory { root in
            let sidecars = try await openStore(at: root, sidecarDigests: true)
            #expect(!sidecars.digestsInAttribute)
            let data = testBytes(100_000)
            let key = try FileKey(validating: "old-style")
            _ = try await sidecars.put(key, body: chunkedBody(data))
            #expect(filesBelow(root) == ["blobs/ol/old-style", "blobs/ol/old-style.sha256"])
            #expect(try digestAttribute(root + "/blobs/ol/old-style") == nil)
            #expect(try await sidecars.metadata(of: key).digest == sha256(data))

            // Reopened with attributes (a node upgraded in place): the sidecar is still read, a rewrite drops it,
            // a delete removes both.
            let upgraded = try await openStore(at: root)
            #expect(try await upgraded.metadata(of: key).digest == sha256(data))
            #expect(try await upgraded.openForReading(key).metadata.digest == sha256(data))
            let newer = testBytes(5000, seed: 3)
            _ = try await upgraded.put(key, body: chunkedBody(newer))
            #expect(filesBelow(root) == ["blobs/ol/old-style"])
            #expect(try await upgraded.metadata(of: key).digest == sha256(newer))
            _ = try await sidecars.put(try FileKey(validating: "old-two"), body: chunkedBody(data))
            #expect(try await upgraded.delete(try FileKey(validating: "old-two")))
            #expect(filesBelow(root) == ["blobs/ol/old-style"])
        }
    }

    @Test("a body that fails within the read-ahead leaves no visible blob and no temp file")
    func failedSmallBodyLeavesNothing() async throws {
        try await withTemporaryDirectory { root in
            let store = try await openStore(at: root)
            let key = try FileKey(validating: "short")
            await #expect(throws: BlobStoreError.self) {
                try await store.put(key, body: chunkedBody(testBytes(50_000), chunkSize: 10_000, failAfter: 2))
            }
            #expect(filesBelow(root).isEmpty)
            #expect(store.blobCount == 0)
        }
    }

    @Test("an empty blob is stored with the digest of no bytes")
    func emptyBlob() async throws {
        try await withTemporaryDirectory { root in
            let store = try await openStore(at: root)
            let key = try FileKey(validating: "e")
            let stored = try await store.put(key, body: chunkedBody([]))
            #expect(stored.sizeBytes == 0)
            #expect(stored.digest == sha256([]))
            #expect(try await store.metadata(of: key).sizeBytes == 0)
        }
    }

    @Test(
        "bad keys are refused before any file is created",
        arguments: ["../x", "a/b", "", String(repeating: "k", count: 300), "..", "a\\b"])
    func badKeysRefused(_ raw: String) async throws {
        try await withTemporaryDirectory { root in
            _ = try await openStore(at: root)
            #expect(throws: KeyValidationError.self) { try FileKey(validating: raw) }
            #expect(filesBelow(root).isEmpty)
        }
    }

    @Test("a key that would collide with a digest file is refused without touching the disk")
    func reservedKeyRefused() async throws {
        try await withTemporaryDirectory { root in
            let store = try await openStore(at: root)
            let key = try FileKey(validating: "abc.sha256")
            await #expect(throws: BlobStoreError.reservedKey(key)) {
                try await store.put(key, body: chunkedBody([1, 2, 3]))
            }
            await #expect(throws: BlobStoreError.reservedKey(key)) { try await store.openForReading(key) }
            await #expect(throws: BlobStoreError.reservedKey(key)) { try await store.delete(key) }
            #expect(filesBelow(root).isEmpty)
        }
    }

    /// 7 chunks: before the first write batch; 40: after one batch went to the I/O threads, while it may be written.
    @Test("a body that fails midway leaves no visible blob and no temp file", arguments: [7, 40])
    func failedBodyLeavesNothing(failAfter: Int) async throws {
        try await withTemporaryDirectory { root in
            let store = try await openStore(at: root)
            let key = try FileKey(validating: "partial")
            let error = await #expect(throws: BlobStoreError.self) {
                try await store.put(key, body: chunkedBody(testBytes(500_000), chunkSize: 10_000, failAfter: failAfter))
            }
            guard case .incompleteBody = error else {
                Issue.record("expected incompleteBody, got \(String(describing: error))")
                return
            }
            await #expect(throws: BlobStoreError.blobNotFound(key)) { try await store.metadata(of: key) }
            #expect(filesBelow(root).isEmpty)
            #expect(store.blobCount == 0)
        }
    }

    @Test("a body of many write batches, in chunks that straddle them, is stored whole with its block digests")
    func manyBatchesStoredInOrder() async throws {
        try await withTemporaryDirectory { root in
            let store = try await openStore(at: root)
            let key = try FileKey(validating: "batched")
            let bytes = testBytes(3 * BlobBlocks.standardBlockSize + 12_345, seed: 9)
            let stored = try await store.put(key, body: chunkedBody(bytes, chunkSize: 9_999), expectedDigest: sha256(bytes))
            let blockSize = BlobBlocks.standardBlockSize
            let blockDigests = stride(from: 0, to: bytes.count, by: blockSize).map {
                sha256(Array(bytes[$0..<min($0 + blockSize, bytes.count)]))
            }
            #expect(stored.digests.whole == sha256(bytes))
            #expect(stored.digests.blocks.digests == blockDigests)
            #expect(try await readAll(store, key) == bytes)
        }
    }

    @Test("a digest other than the expected one keeps nothing, and an earlier blob under the key survives")
    func digestMismatchKeepsNothing() async throws {
        try await withTemporaryDirectory { root in
            let store = try await openStore(at: root)
            let key = try FileKey(validating: "checked")
            let original = testBytes(1000, seed: 1)
            _ = try await store.put(key, body: chunkedBody(original), expectedDigest: sha256(original))
            let other = testBytes(2000, seed: 2)
            await #expect(throws: BlobStoreError.digestMismatch(expected: sha256(original), actual: sha256(other))) {
                try await store.put(key, body: chunkedBody(other), expectedDigest: sha256(original))
            }
            #expect(try await readAll(store, key) == original)
            #expect(filesBelow(root) == ["blobs/ch/checked"])
            #expect(try digestAttribute(root + "/blobs/ch/checked") == sha256(original).hex)
            #expect(store.blobCount == 1)
        }
    }

    @Test("over-writing a key replaces bytes and digest and keeps the count")
    func overwriteReplaces() async throws {
        try await withTemporaryDirectory { root in
            let store = try await openStore(at: root)
            let key = try FileKey(validating: "same")
            _ = try await store.put(key, body: chunkedBody(testBytes(5000, seed: 3)))
            let newer = testBytes(7000, seed: 4)
            _ = try await store.put(key, body: chunkedBody(newer))
            #expect(try await readAll(store, key) == newer)
            #expect(try await store.metadata(of: key).digest == sha256(newer))
            #expect(store.blobCount == 1)
        }
    }

    @Test("a declared size larger than the free space is refused as insufficient storage before writing")
    func declaredSizeTooLarge() async throws {
        try await withTemporaryDirectory { root in
            let store = try await openStore(at: root)
            let error = await #expect(throws: BlobStoreError.self) {
                try await store.put(try FileKey(validating: "huge"), body: chunkedBody([1]), declaredSize: Int64.max / 2)
            }
            guard case .insufficientStorage = error else {
                Issue.record("expected insufficientStorage, got \(String(describing: error))")
                return
            }
            #expect(filesBelow(root).isEmpty)
        }
    }

    @Test("ENOSPC and EDQUOT are reported as insufficient storage, other errnos as system-call failures")
    func diskFullErrno() {
        guard case .insufficientStorage = BlobStoreError.fromErrno("write", "/x", code: ENOSPC) else {
            Issue.record("ENOSPC not mapped")
            return
        }
        guard case .insufficientStorage = BlobStoreError.fromErrno("write", "/x", code: EDQUOT) else {
            Issue.record("EDQUOT not mapped")
            return
        }
        #expect(BlobStoreError.fromErrno("write", "/x", code: EIO) == .systemCall(operation: "write", path: "/x", code: EIO))
    }

    @Test("reads at an offset return exactly the requested bytes, short only at the end")
    func rangeReads() async throws {
        try await withTemporaryDirectory { root in
            let store = try await openStore(at: root)
            let data = testBytes(300_000)
            let key = try FileKey(validating: "ranged")
            _ = try await store.put(key, body: chunkedBody(data))
            let blob = try await store.openForReading(key)
            #expect(Array(try await blob.read(offset: 1000, length: 10).readableBytesView) == Array(data[1000..<1010]))
            #expect(Array(try await blob.read(offset: 299_990, length: 100).readableBytesView) == Array(data[299_990...]))
            #expect(try await blob.read(offset: 300_000, length: 100).readableBytes == 0)
        }
    }

    @Test("an open blob keeps reading its own bytes while the key is deleted")
    func openBlobSurvivesDelete() async throws {
        try await withTemporaryDirectory { root in
            let store = try await openStore(at: root)
            let data = testBytes(10_000)
            let key = try FileKey(validating: "pinned")
            _ = try await store.put(key, body: chunkedBody(data))
            let blob = try await store.openForReading(key)
            #expect(try await store.delete(key))
            #expect(Array(try await blob.read(offset: 0, length: 10_000).readableBytesView) == data)
        }
    }

    @Test("delete removes blob and digest, then reports absence")
    func deleteBlob() async throws {
        try await withTemporaryDirectory { root in
            let store = try await openStore(at: root)
            let key = try FileKey(validating: "gone")
            _ = try await store.put(key, body: chunkedBody(testBytes(100)))
            #expect(store.blobCount == 1)
            #expect(try await store.delete(key))
            #expect(try await store.delete(key) == false)
            await #expect(throws: BlobStoreError.blobNotFound(key)) { try await store.openForReading(key) }
            #expect(filesBelow(root).isEmpty)
            #expect(store.blobCount == 0)
        }
    }

    @Test("a put still arriving when its key is deleted is discarded at the end, and a later put of that key is refused")
    func deletedKeyIsNotBroughtBack() async throws {
        try await withTemporaryDirectory { root in
            let store = try await openStore(at: root)
            let key = try FileKey(validating: "abandoned")
            let data = testBytes(3 * BlobStore.smallBodyBytes)
            let (body, feed) = AsyncStream.makeStream(of: ByteBuffer.self)
            feed.yield(ByteBuffer(bytes: data[..<(2 * BlobStore.smallBodyBytes)]))
            let put = Task { try await store.put(key, body: body) }
            // The caller gave up and asked for the key's removal before the rest of the body arrived.
            #expect(try await store.delete(key) == false)
            feed.yield(ByteBuffer(bytes: data[(2 * BlobStore.smallBodyBytes)...]))
            feed.finish()
            await #expect(throws: BlobStoreError.deletedMeanwhile(key)) { try await put.value }
            await #expect(throws: BlobStoreError.deletedMeanwhile(key)) {
                try await store.put(key, body: chunkedBody(testBytes(100)))
            }
            #expect(filesBelow(root).isEmpty)
            #expect(store.blobCount == 0)
        }
    }

    @Test("inventory pages through keys in ascending order")
    func inventoryPaging() async throws {
        try await withTemporaryDirectory { root in
            let store = try await openStore(at: root)
            var keys = (0..<23).map { String(format: "k%03d", ($0 * 7) % 23) } + ["a", "ab", "a-1", "Z9", "_x"]
            keys.shuffle()
            for key in keys {
                _ = try await store.put(try FileKey(validating: key), body: chunkedBody(testBytes(key.count)))
            }
            var seen: [String] = []
            var after: String?
            var pages = 0
            repeat {
                let page = try await store.inventory(after: after, limit: 10)
                seen += page.blobs.map(\.key)
                #expect(page.blobs.allSatisfy { $0.sizeBytes == Int64($0.key.count) })
                after = page.nextAfter
                pages += 1
            } while after != nil && pages < 10
            #expect(seen == keys.sorted())
            #expect(pages == 3)
            #expect(try await store.inventory(after: "k010", limit: 2).blobs.map(\.key) == ["k011", "k012"])
        }
    }

    @Test("reopening counts existing blobs and removes writes an earlier run left in tmp/")
    func reopenCleansUp() async throws {
        try await withTemporaryDirectory { root in
            let store = try await openStore(at: root)
            for name in ["one", "two", "three"] {
                _ = try await store.put(try FileKey(validating: name), body: chunkedBody(testBytes(10)))
            }
            _ = FileManager.default.createFile(atPath: root + "/tmp/crashed.tmp", contents: Data([1, 2, 3]))
            let reopened = try await openStore(at: root)
            #expect(reopened.blobCount == 3)
            #expect(filesBelow(root + "/tmp").isEmpty)
        }
    }
}
