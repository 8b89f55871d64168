import DFSCore
import Foundation
import Synchronization

/// An `S3Catalog` that keeps recently read objects (record and segments) and buckets in memory, so a GET or the
/// bucket check of a PUT costs no database round trip (a hop to the driver's thread, its serial lock and a statement
/// prepared again) when it was read before: the S3 counterpart of `CachingMetadataStore`, with the same condition.
///
/// Correct only while every write goes through this instance: use it when this process is the database's sole
/// writer (one gateway per SQLite file), never for a MySQL database several gateways share. Each write that can
/// change an object (`putObject`, `deleteObject`, `completeMultipartUpload`, `recordObjectDigest`) or a bucket (`createBucket`,
/// `deleteBucket`) drops that name once it ends, whether it succeeded or not, and bumps a generation: a read that
/// began before a write ended never stores its result.
public final class CachingS3Catalog: S3Catalog {
    private let base: any S3Catalog
    private let capacity: Int
    private let state = Mutex(CacheState())

    private struct ObjectName: Hashable {
        var bucket: String
        var key: String
    }

    private struct CacheState {
        var objects: [ObjectName: S3StoredObject] = [:]
        var buckets: [String: S3BucketRecord] = [:]
        var generation: UInt64 = 0
    }

    /// - Parameter capacity: objects kept at most; when full the cache starts over (they are cheap to reread).
    public init(_ base: any S3Catalog, capacity: Int = 10_000) {
        self.base = base
        self.capacity = max(1, capacity)
    }

    public func object(bucket: String, key: String) async throws -> S3StoredObject? {
        try await cached(ObjectName(bucket: bucket, key: key), in: \.objects) {
            try await base.object(bucket: bucket, key: key)
        }
    }

    public func bucket(_ name: String) async throws -> S3BucketRecord? {
        try await cached(name, in: \.buckets) { try await base.bucket(name) }
    }

    /// The entry for `name` from the cache, else from `read` (kept unless a write ended meanwhile). Absent names
    /// are not cached: a write of that name may be committing right now.
    private func cached<Name: Hashable & Sendable, Value: Sendable>(
        _ name: Name, in entries: WritableKeyPath<CacheState, [Name: Value]>, read: () async throws -> Value?
    ) async throws -> Value? {
        let (hit, generation) = state.withLock { ($0[keyPath: entries][name], $0.generation) }
        if let hit { return hit }
        let value = try await read()
        if let value {
            state.withLock { state in
                guard state.generation == generation else { return }
                if state[keyPath: entries].count >= capacity { state[keyPath: entries].removeAll(keepingCapacity: true) }
                state[keyPath: entries][name] = value
            }
        }
        return value
    }

    /// Runs `write`, then drops the object `key` of `bucket` (or, with no key, the bucket itself).
    private func invalidating<T>(bucket: String, key: String?, _ write: () async throws -> T) async throws -> T {
        defer {
            state.withLock { state in
                if let key {
                    state.objects[ObjectName(bucket: bucket, key: key)] = nil
                } else {
                    state.buckets[bucket] = nil
                }
                state.generation &+= 1
            }
        }
        return try await write()
    }

    // MARK: - writes that change an object

    public func putObject(_ object: S3ObjectRecord, segments: [S3ObjectSegment]) async throws -> [FileKey] {
        try await invalidating(bucket: object.bucket, key: object.key) {
            try await base.putObject(object, segments: segments)
        }
    }

    public func putObject(_ object: S3ObjectRecord, recordingUpload upload: UploadRecord) async throws -> [FileKey] {
        try await invalidating(bucket: object.bucket, key: object.key) {
            try await base.putObject(object, recordingUpload: upload)
        }
    }

    public func deleteObject(bucket: String, key: String) async throws -> [FileKey]? {
        try await invalidating(bucket: bucket, key: key) { try await base.deleteObject(bucket: bucket, key: key) }
    }

    public func completeMultipartUpload(
        _ uploadID: String, as object: S3ObjectRecord, segments: [S3ObjectSegment]
    ) async throws -> [FileKey]? {
        try await invalidating(bucket: object.bucket, key: object.key) {
            try await base.completeMultipartUpload(uploadID, as: object, segments: segments)
        }
    }

    public func recordObjectDigest(_ digest: SHA256Digest, bucket: String, key: String, etag: String) async throws -> Bool {
        try await invalidating(bucket: bucket, key: key) {
            try await base.recordObjectDigest(digest, bucket: bucket, key: key, etag: etag)
        }
    }

    // MARK: - everything else passes through

    public func objectsAwaitingDigest(limit: Int) async throws -> [S3ObjectName] {
        try await base.objectsAwaitingDigest(limit: limit)
    }

    public func claimObjectsAwaitingDigest(
        owner: String, now: Date, leaseUntil: Date, limit: Int
    ) async throws
        -> [S3ObjectName]
    {
        try await base.claimObjectsAwaitingDigest(owner: owner, now: now, leaseUntil: leaseUntil, limit: limit)
    }

    public func holdObjectDigestClaim(bucket: String, key: String, owner: String, until time: Date) async throws {
        try await base.holdObjectDigestClaim(bucket: bucket, key: key, owner: owner, until: time)
    }

    public func objectRoles(of files: [FileKey]) async throws -> [FileKey: S3FileRole] {
        try await base.objectRoles(of: files)
    }

    public func createBucket(_ name: String, owner: String, at time: Date) async throws -> Bool {
        try await invalidating(bucket: name, key: nil) { try await base.createBucket(name, owner: owner, at: time) }
    }

    public func deleteBucket(_ name: String) async throws -> S3BucketDeletion {
        try await invalidating(bucket: name, key: nil) { try await base.deleteBucket(name) }
    }

    public func buckets() async throws -> [S3BucketRecord] {
        try await base.buckets()
    }

    public func listObjects(
        bucket: String, prefix: String, after marker: String?, inclusive: Bool, limit: Int
    ) async throws -> [S3ObjectRecord] {
        try await base.listObjects(bucket: bucket, prefix: prefix, after: marker, inclusive: inclusive, limit: limit)
    }

    public func createMultipartUpload(_ upload: S3MultipartUpload) async throws {
        try await base.createMultipartUpload(upload)
    }

    public func multipartUpload(_ uploadID: String) async throws -> S3MultipartUpload? {
        try await base.multipartUpload(uploadID)
    }

    public func putPart(_ part: S3PartRecord) async throws -> FileKey?? {
        try await base.putPart(part)
    }

    public func parts(of uploadID: String, after: Int, limit: Int) async throws -> [S3PartRecord] {
        try await base.parts(of: uploadID, after: after, limit: limit)
    }

    public func multipartUploads(
        bucket: String, prefix: String, afterKey: String?, afterUploadID: String?, limit: Int
    ) async throws -> [S3MultipartUpload] {
        try await base.multipartUploads(
            bucket: bucket, prefix: prefix, afterKey: afterKey, afterUploadID: afterUploadID, limit: limit)
    }

    public func abortMultipartUpload(_ uploadID: String) async throws -> [FileKey]? {
        try await base.abortMultipartUpload(uploadID)
    }

    public func multipartUploads(initiatedBefore time: Date, limit: Int) async throws -> [S3MultipartUpload] {
        try await base.multipartUploads(initiatedBefore: time, limit: limit)
    }
}
