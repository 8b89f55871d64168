import DFSCore
import DFSMetadata
import Foundation
import NIOCore
import Testing

/// The S3 catalog's assertions, on every backend: `cachedSQLite` is SQLite behind the gateway's `CachingS3Catalog`,
/// which must behave identically (every object read again after a write that changes it).
@Suite("S3Catalog conformance")
struct S3CatalogConformanceTests {
    static let backends = TestBackend.all
    let time = Date(timeIntervalSince1970: 1_800_000_000.25)

    func withCatalog(_ backend: TestBackend, _ body: (any S3Catalog) async throws -> Void) async throws {
        let database = backend == .cachedSQLite ? TestBackend.sqlite : backend
        try await database.withFreshStore { store in
            let catalog = try #require(store as? any S3Catalog)
            try await body(backend == .cachedSQLite ? CachingS3Catalog(catalog) : catalog)
        }
    }

    func object(_ bucket: String, _ key: String, size: Int64 = 10, parts: Int = 0) -> S3ObjectRecord {
        S3ObjectRecord(
            bucket: bucket, key: key, sizeBytes: size, etag: "\"0123\"", contentType: "text/plain",
            metadata: ["x-amz-meta-colour": "blue"], checksums: ["CRC32": "AAAAAA=="], sha256: sampleDigest,
            lastModified: time, parts: parts)
    }

    /// A completed two-part object still waiting for its whole SHA-256.
    func multipartObject(_ bucket: String, _ key: String, etag: String, at modified: Date? = nil) -> S3ObjectRecord {
        var pending = object(bucket, key, size: 10 << 20, parts: 2)
        pending.sha256 = nil
        pending.etag = etag
        pending.lastModified = modified ?? time
        return pending
    }

    func segment(_ raw: String, offset: Int64 = 0, size: Int64 = 10) -> S3ObjectSegment {
        S3ObjectSegment(fileKey: key(raw), offset: offset, sizeBytes: size)
    }

    @Test("buckets are created once, listed by name, and deleted only when empty", arguments: backends)
    func buckets(_ backend: TestBackend) async throws {
        try await withCatalog(backend) { catalog in
            #expect(try await catalog.createBucket("photos", owner: "alice", at: time))
            #expect(try await !catalog.createBucket("photos", owner: "bob", at: time))
            #expect(try await catalog.createBucket("logs", owner: "bob", at: time))
            #expect(try await catalog.buckets().map(\.name) == ["logs", "photos"])
            #expect(try await catalog.bucket("photos") == S3BucketRecord(name: "photos", createdAt: time, owner: "alice"))
            #expect(try await catalog.bucket("nope") == nil)

            _ = try await catalog.putObject(object("photos", "a.jpg"), segments: [segment("f1")])
            #expect(try await catalog.deleteBucket("photos") == .notEmpty)
            #expect(try await catalog.deleteObject(bucket: "photos", key: "a.jpg") == [key("f1")])
            try await catalog.createMultipartUpload(
                S3MultipartUpload(uploadID: "u1", bucket: "photos", key: "b", initiatedAt: time, contentType: "x", metadata: [:]))
            #expect(try await catalog.deleteBucket("photos") == .notEmpty)
            #expect(try await catalog.abortMultipartUpload("u1") == [])
            #expect(try await catalog.deleteBucket("photos") == .deleted)
            #expect(try await catalog.deleteBucket("photos") == .notFound)
            // Read before the delete (and so cached in front of SQLite): gone now, and made again with its new owner.
            #expect(try await catalog.bucket("photos") == nil)
            #expect(try await catalog.createBucket("photos", owner: "carol", at: time))
            #expect(try await catalog.bucket("photos")?.owner == "carol")
        }
    }

    @Test("an object keeps its record and segments; an overwrite or delete hands back the files it held", arguments: backends)
    func objects(_ backend: TestBackend) async throws {
        try await withCatalog(backend) { catalog in
            _ = try await catalog.createBucket("b", owner: "alice", at: time)
            let first = object("b", "dir/ünïcødé file+%.txt", size: 20, parts: 2)
            #expect(try await catalog.putObject(first, segments: [segment("f1"), segment("f2", offset: 10)]) == [])
            let stored = try #require(try await catalog.object(bucket: "b", key: first.key))
            #expect(stored.object == first)
            #expect(stored.segments == [segment("f1"), segment("f2", offset: 10)])

            let second = object("b", first.key, size: 10)
            #expect(try await catalog.putObject(second, segments: [segment("f3")]) == [key("f1"), key("f2")])
            #expect(try await catalog.object(bucket: "b", key: first.key)?.segments == [segment("f3")])
            #expect(try await catalog.deleteObject(bucket: "b", key: first.key) == [key("f3")])
            #expect(try await catalog.deleteObject(bucket: "b", key: first.key) == nil)
            #expect(try await catalog.object(bucket: "b", key: first.key) == nil)
        }
    }

    @Test("listing pages through keys in UTF-8 byte order, within a prefix, after a marker", arguments: backends)
    func listing(_ backend: TestBackend) async throws {
        try await withCatalog(backend) { catalog in
            _ = try await catalog.createBucket("b", owner: "alice", at: time)
            _ = try await catalog.createBucket("other", owner: "alice", at: time)
            let keys = ["a", "a/1", "a/2", "a/sub/3", "a0", "Z", "z", "é", "日本", "a/\u{10FFFF}"]
            for (index, name) in keys.enumerated() {
                _ = try await catalog.putObject(object("b", name), segments: [segment("k\(index)")])
            }
            _ = try await catalog.putObject(object("other", "a/1"), segments: [segment("elsewhere")])
            let everything = try await catalog.listObjects(bucket: "b", prefix: "", after: nil, inclusive: false, limit: 100).map(
                \.key)
            #expect(everything == keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })
            #expect(everything.first == "Z")
            #expect(everything.last == "日本")

            #expect(
                try await catalog.listObjects(bucket: "b", prefix: "a/", after: nil, inclusive: false, limit: 100).map(\.key)
                    == ["a/1", "a/2", "a/sub/3", "a/\u{10FFFF}"])
            #expect(
                try await catalog.listObjects(bucket: "b", prefix: "a/", after: nil, inclusive: false, limit: 2).map(\.key) == [
                    "a/1", "a/2",
                ])
            #expect(
                try await catalog.listObjects(bucket: "b", prefix: "a/", after: "a/2", inclusive: false, limit: 2).map(\.key)
                    == ["a/sub/3", "a/\u{10FFFF}"])
            // A marker before the prefix starts at the prefix; one after everything gives nothing.
            #expect(
                try await catalog.listObjects(bucket: "b", prefix: "a/", after: "0", inclusive: false, limit: 1).map(\.key) == [
                    "a/1"
                ])
            #expect(try await catalog.listObjects(bucket: "b", prefix: "a/", after: "a0", inclusive: false, limit: 5).isEmpty)
            #expect(
                try await catalog.listObjects(bucket: "b", prefix: "é", after: nil, inclusive: false, limit: 5).map(\.key) == [
                    "é"
                ])
            #expect(
                try await catalog.listObjects(bucket: "b", prefix: "a/", after: "a/2", inclusive: true, limit: 1).map(\.key)
                    == ["a/2"])
            #expect(try await catalog.listObjects(bucket: "b", prefix: "nothing", after: nil, inclusive: false, limit: 5).isEmpty)
        }
    }

    @Test(
        "an object recorded with its file: both count, or neither when the file's key is taken", arguments: backends)
    func objectWithItsFile(_ backend: TestBackend) async throws {
        let database = backend == .cachedSQLite ? TestBackend.sqlite : backend
        try await database.withFreshStore { store in
            let base = try #require(store as? any S3Catalog)
            let catalog = backend == .cachedSQLite ? CachingS3Catalog(base) : base
            _ = try await catalog.createBucket("b", owner: "alice", at: time)
            let file = sampleFile("f1")
            let queued = NewQueueItem(
                fileKey: file.key, targetNodeID: node("node-3"), sourceNodeID: node("node-1"), kind: .replicate,
                reason: "down")
            let upload = UploadRecord(file: file, nodes: [node("node-1"), node("node-2")], verifiedAt: time, queue: [queued])
            #expect(try await catalog.putObject(object("b", "k", size: file.sizeBytes), recordingUpload: upload) == [])
            #expect(try await store.file(file.key)?.verifiedReplicas == [node("node-1"), node("node-2")])
            #expect(try await store.queueItems(QueueFilter()).map(\.targetNodeID) == [node("node-3")])
            let stored = try await catalog.object(bucket: "b", key: "k")
            #expect(stored?.segments == [S3ObjectSegment(fileKey: file.key, offset: 0, sizeBytes: file.sizeBytes)])

            // The same file key again: refused, and the object it would have replaced stays as it was.
            await #expect(throws: MetadataError.self) {
                try await catalog.putObject(object("b", "k", size: 99), recordingUpload: upload)
            }
            #expect(try await catalog.object(bucket: "b", key: "k")?.object.sizeBytes == file.sizeBytes)
            // A new file replaces the object and hands back the old one's file.
            let second = UploadRecord(file: sampleFile("f2"), nodes: [node("node-1")], verifiedAt: time, queue: [])
            #expect(try await catalog.putObject(object("b", "k"), recordingUpload: second) == [file.key])
            #expect(try await catalog.object(bucket: "b", key: "k")?.segments.map(\.fileKey) == [key("f2")])
        }
    }

    @Test(
        "multipart: parts replace by number, uploads list by key and id, completion keeps the chosen parts", arguments: backends)
    func multipart(_ backend: TestBackend) async throws {
        try await withCatalog(backend) { catalog in
            _ = try await catalog.createBucket("b", owner: "alice", at: time)
            for (id, name) in [("u2", "big"), ("u1", "big"), ("u3", "small")] {
                try await catalog.createMultipartUpload(
                    S3MultipartUpload(
                        uploadID: id, bucket: "b", key: name, initiatedAt: time.addingTimeInterval(id == "u3" ? 100 : 0),
                        contentType: "application/zip", metadata: ["x-amz-meta-a": "1"], checksumAlgorithm: "CRC32",
                        checksumType: id == "u1" ? "FULL_OBJECT" : nil))
            }
            #expect(try await catalog.multipartUpload("u1")?.checksumAlgorithm == "CRC32")
            #expect(try await catalog.multipartUpload("u1")?.checksumType == "FULL_OBJECT")
            #expect(try await catalog.multipartUpload("u2")?.checksumType == nil)
            #expect(
                try await catalog.multipartUploads(bucket: "b", prefix: "", afterKey: nil, afterUploadID: nil, limit: 10).map(
                    \.uploadID) == ["u1", "u2", "u3"])
            #expect(
                try await catalog.multipartUploads(bucket: "b", prefix: "", afterKey: "big", afterUploadID: "u1", limit: 10).map(
                    \.uploadID) == ["u2", "u3"])
            #expect(
                try await catalog.multipartUploads(bucket: "b", prefix: "", afterKey: "big", afterUploadID: nil, limit: 10).map(
                    \.uploadID) == ["u3"])
            #expect(
                try await catalog.multipartUploads(bucket: "b", prefix: "sm", afterKey: nil, afterUploadID: nil, limit: 10).map(
                    \.uploadID) == ["u3"])
            #expect(try await catalog.multipartUploads(initiatedBefore: time.addingTimeInterval(50), limit: 10).count == 2)

            func part(_ number: Int, _ file: String) -> S3PartRecord {
                S3PartRecord(
                    uploadID: "u1", partNumber: number, fileKey: key(file), sizeBytes: 5 << 20, etag: "\"e\(number)\"",
                    checksums: [:], sha256: sampleDigest, uploadedAt: time)
            }
            #expect(try await catalog.putPart(part(1, "p1")) == .some(nil))
            #expect(try await catalog.putPart(part(2, "p2")) == .some(nil))
            #expect(try await catalog.putPart(part(3, "p3")) == .some(nil))
            #expect(try await catalog.putPart(part(2, "p2b")) == .some(key("p2")))
            var late = part(1, "late")
            late.uploadID = "gone"
            #expect(try await catalog.putPart(late) == nil)
            #expect(try await catalog.parts(of: "u1", after: 0, limit: 10).map(\.fileKey) == [key("p1"), key("p2b"), key("p3")])
            #expect(try await catalog.parts(of: "u1", after: 1, limit: 1).map(\.partNumber) == [2])

            _ = try await catalog.putObject(object("b", "big"), segments: [segment("old")])
            #expect(try await catalog.object(bucket: "b", key: "big")?.segments.map(\.fileKey) == [key("old")])
            let whole = object("b", "big", size: 10 << 20, parts: 2)
            let released = try await catalog.completeMultipartUpload(
                "u1", as: whole, segments: [segment("p1"), segment("p2b", offset: 5 << 20)])
            #expect(released.map(Set.init) == Set([key("p3"), key("old")]))
            #expect(try await catalog.completeMultipartUpload("u1", as: whole, segments: []) == nil)
            #expect(try await catalog.multipartUpload("u1") == nil)
            #expect(try await catalog.object(bucket: "b", key: "big")?.segments.map(\.fileKey) == [key("p1"), key("p2b")])
            #expect(try await catalog.abortMultipartUpload("u2") == [])
            #expect(try await catalog.abortMultipartUpload("u2") == nil)
        }
    }

    @Test(
        "a multipart object waits for its whole SHA-256 until recorded for its etag; files know their object and place",
        arguments: backends)
    func wholeObjectDigests(_ backend: TestBackend) async throws {
        try await withCatalog(backend) { catalog in
            _ = try await catalog.createBucket("b", owner: "alice", at: time)
            _ = try await catalog.putObject(object("b", "single"), segments: [segment("s1")])
            let pending = multipartObject("b", "multi", etag: "\"first-2\"")
            _ = try await catalog.putObject(pending, segments: [segment("m1"), segment("m2", offset: 5 << 20)])
            #expect(try await catalog.objectsAwaitingDigest(limit: 10) == [S3ObjectName(bucket: "b", key: "multi")])
            #expect(try await catalog.object(bucket: "b", key: "multi")?.object.sha256 == nil)

            let roles = try await catalog.objectRoles(of: [key("s1"), key("m2"), key("nobody")])
            #expect(roles.count == 2)
            #expect(roles[key("s1")]?.segmentNumber == 1 && roles[key("s1")]?.object.sha256 == sampleDigest)
            #expect(roles[key("m2")]?.segmentNumber == 2 && roles[key("m2")]?.object.parts == 2)
            #expect(roles[key("m2")]?.object.sha256 == nil)

            // A digest of an earlier object of the name (another etag) is refused, and the object keeps waiting.
            let digest = SHA256Digest.of(ByteBuffer(string: "all the bytes"))
            #expect(try await !catalog.recordObjectDigest(digest, bucket: "b", key: "multi", etag: "\"older-2\""))
            #expect(try await catalog.objectsAwaitingDigest(limit: 10).count == 1)
            #expect(try await catalog.recordObjectDigest(digest, bucket: "b", key: "multi", etag: "\"first-2\""))
            #expect(try await catalog.objectsAwaitingDigest(limit: 10).isEmpty)
            // Read through the cache before and after: the recorded digest shows.
            #expect(try await catalog.object(bucket: "b", key: "multi")?.object.sha256 == digest)
            #expect(try await catalog.objectRoles(of: [key("m1")])[key("m1")]?.object.sha256 == digest)
            #expect(try await !catalog.recordObjectDigest(digest, bucket: "b", key: "multi", etag: "\"first-2\""))

            // Replaced or deleted while waiting: the queue forgets it.
            _ = try await catalog.putObject(pending, segments: [segment("n1")])
            #expect(try await catalog.objectsAwaitingDigest(limit: 10).count == 1)
            _ = try await catalog.deleteObject(bucket: "b", key: "multi")
            #expect(try await catalog.objectsAwaitingDigest(limit: 10).isEmpty)
            #expect(try await catalog.objectRoles(of: []).isEmpty)
        }
    }

    @Test(
        "gateways claim objects awaiting their digest one at a time: a claim holds until it runs out or is given back",
        arguments: backends)
    func objectDigestClaims(_ backend: TestBackend) async throws {
        try await withCatalog(backend) { catalog in
            _ = try await catalog.createBucket("b", owner: "alice", at: time)
            for (index, name) in ["first", "second"].enumerated() {
                let pending = multipartObject("b", name, etag: "\"\(name)-2\"", at: time.addingTimeInterval(Double(index)))
                _ = try await catalog.putObject(pending, segments: [segment("\(name)-1"), segment("\(name)-2", offset: 5 << 20)])
            }
            let first = S3ObjectName(bucket: "b", key: "first")
            let second = S3ObjectName(bucket: "b", key: "second")
            let now = time.addingTimeInterval(100)
            let lease = now.addingTimeInterval(300)
            #expect(try await catalog.claimObjectsAwaitingDigest(owner: "gw-a", now: now, leaseUntil: lease, limit: 1) == [first])
            #expect(
                try await catalog.claimObjectsAwaitingDigest(owner: "gw-b", now: now, leaseUntil: lease, limit: 10) == [second])
            #expect(try await catalog.claimObjectsAwaitingDigest(owner: "gw-c", now: now, leaseUntil: lease, limit: 10).isEmpty)
            // Claimed objects still wait; a claim is not the digest.
            #expect(try await catalog.objectsAwaitingDigest(limit: 10).count == 2)

            // gw-a's read failed: it holds its claim until the retry time; another's hold changes nothing.
            try await catalog.holdObjectDigestClaim(bucket: "b", key: "first", owner: "gw-a", until: now.addingTimeInterval(30))
            try await catalog.holdObjectDigestClaim(bucket: "b", key: "second", owner: "gw-a", until: now)
            let later = now.addingTimeInterval(31)
            #expect(
                try await catalog.claimObjectsAwaitingDigest(owner: "gw-c", now: later, leaseUntil: lease, limit: 10) == [first])
            // gw-b gives its claim back (stopping): free at once.
            try await catalog.holdObjectDigestClaim(bucket: "b", key: "second", owner: "gw-b", until: now)
            #expect(
                try await catalog.claimObjectsAwaitingDigest(owner: "gw-a", now: later, leaseUntil: lease, limit: 10) == [second])
            // A claim that ran out (its gateway died) is anyone's.
            let afterLease = lease.addingTimeInterval(1)
            #expect(
                try await catalog.claimObjectsAwaitingDigest(
                    owner: "gw-d", now: afterLease, leaseUntil: afterLease + 300, limit: 10)
                    == [first, second])
            // A replaced object waits afresh, unclaimed.
            let digest = SHA256Digest.of(ByteBuffer(string: "bytes"))
            _ = try await catalog.putObject(
                multipartObject("b", "first", etag: "\"new-2\""), segments: [segment("new-1"), segment("new-2", offset: 5 << 20)])
            #expect(
                try await catalog.claimObjectsAwaitingDigest(owner: "gw-e", now: afterLease, leaseUntil: lease, limit: 10) == [
                    first
                ])
            #expect(try await catalog.recordObjectDigest(digest, bucket: "b", key: "first", etag: "\"new-2\""))
            #expect(try await catalog.objectsAwaitingDigest(limit: 10) == [second])
        }
    }
}
