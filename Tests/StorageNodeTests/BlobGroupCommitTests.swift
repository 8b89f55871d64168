import DFSCore
import Foundation
import Testing

@testable import StorageNode

@Suite("BlobStore group commit")
struct BlobGroupCommitTests {
    @Test("concurrent small puts into one shard share its directory fsyncs; each is stored whole, counted and readable")
    func concurrentSmallPutsShareFlushes() async throws {
        try await withTemporaryDirectory { root in
            let store = try await openStore(at: root)
            let count = 64
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<count {
                    group.addTask {
                        let data = testBytes(4096, seed: UInt64(index + 1))
                        let stored = try await store.put(
                            try FileKey(validating: "small-\(index)"), body: chunkedBody(data), expectedDigest: sha256(data))
                        #expect(stored.digest == sha256(data))
                    }
                }
                try await group.waitForAll()
            }
            #expect(store.blobCount == count)
            for index in 0..<count {
                let key = try FileKey(validating: "small-\(index)")
                #expect(try await readAll(store, key) == testBytes(4096, seed: UInt64(index + 1)))
                #expect(
                    try digestAttribute(root + "/blobs/sm/small-\(index)") == sha256(testBytes(4096, seed: UInt64(index + 1))).hex
                )
            }
            #expect(filesBelow(root + "/tmp").isEmpty)
            // All keys share the shard `sm`: a batch fsyncs it once (plus `blobs/` once, when it creates it).
            let syncs = store.directorySyncs.load(ordering: .relaxed)
            #expect(syncs >= 2)
            #expect(syncs < count, "puts that arrived during a batch shared the next one (\(syncs) directory fsyncs)")
        }
    }

    @Test("large blobs (flushed alone, with block tables) and small ones committed together are all stored")
    func mixedSizes() async throws {
        try await withTemporaryDirectory { root in
            let store = try await openStore(at: root)
            let sizes = [3 << 20, 100, 2_500_000, 4096, 70_000, 1]
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (index, size) in sizes.enumerated() {
                    group.addTask {
                        let data = testBytes(size, seed: UInt64(size))
                        let stored = try await store.put(
                            try FileKey(validating: "mixed-\(index)"), body: chunkedBody(data), expectedDigest: sha256(data))
                        #expect(stored.blockRoot.hex == blockRoot(data))
                    }
                }
                try await group.waitForAll()
            }
            for (index, size) in sizes.enumerated() {
                let key = try FileKey(validating: "mixed-\(index)")
                #expect(try await readAll(store, key) == testBytes(size, seed: UInt64(size)))
                let hasTable = FileManager.default.fileExists(atPath: root + "/blobs/mi/mixed-\(index).blocks")
                #expect(hasTable == (size > BlobBlocks.standardBlockSize), "a block table beside each blob of several blocks")
            }
            #expect(store.blobCount == sizes.count)
            #expect(filesBelow(root + "/tmp").isEmpty)
        }
    }
}
