import DFSCore
import Foundation

/// The S3-compatible API's names (SPEC §11): buckets, the objects in them and multipart uploads in progress. An
/// object's bytes are ordinary files of the `MetadataStore` (one per object, or one per part), so replication, the
/// audit, repair and rebalancing never need to know about S3; this catalog only maps names to those files.
///
/// Operations that drop an object's files (an overwrite, a delete, an abort) return the file keys no longer
/// referenced: the caller deletes those files through the ordinary delete path, after the catalog committed.
public protocol S3Catalog: Sendable {
    /// false when the bucket already exists.
    func createBucket(_ name: String, owner: String, at time: Date) async throws -> Bool
    func bucket(_ name: String) async throws -> S3BucketRecord?
    func buckets() async throws -> [S3BucketRecord]
    func deleteBucket(_ name: String) async throws -> S3BucketDeletion

    /// Records an object (replacing one of the same name) whose segments' files are already recorded and verified;
    /// returns the files of the object it replaced.
    func putObject(_ object: S3ObjectRecord, segments: [S3ObjectSegment]) async throws -> [FileKey]
    /// `putObject` of an object held by one new file, recorded with that file (`MetadataStore.recordUpload`) in one
    /// transaction: both count or neither does (`fileAlreadyExists` when the key is taken), and a PUT waits for one
    /// commit, not two.
    func putObject(_ object: S3ObjectRecord, recordingUpload upload: UploadRecord) async throws -> [FileKey]
    func object(bucket: String, key: String) async throws -> S3StoredObject?
    /// nil when there was no such object; else the files it held.
    func deleteObject(bucket: String, key: String) async throws -> [FileKey]?
    /// Objects of a bucket in key order (UTF-8 bytes) whose keys start with `prefix`, from `marker` on (the marker
    /// itself only when `inclusive`), at most `limit`.
    func listObjects(
        bucket: String, prefix: String, after marker: String?, inclusive: Bool, limit: Int
    ) async throws -> [S3ObjectRecord]

    func createMultipartUpload(_ upload: S3MultipartUpload) async throws
    func multipartUpload(_ uploadID: String) async throws -> S3MultipartUpload?
    /// Records a part (replacing an earlier upload of the same number); returns the replaced part's file, if any.
    /// nil when the upload no longer exists (completed or aborted meanwhile): the caller deletes the part's file.
    func putPart(_ part: S3PartRecord) async throws -> FileKey??
    /// Parts of an upload by number, after `after`, at most `limit`.
    func parts(of uploadID: String, after: Int, limit: Int) async throws -> [S3PartRecord]
    /// Uploads in progress in a bucket, ordered by key then upload id, after the (key, upload id) marker.
    func multipartUploads(
        bucket: String, prefix: String, afterKey: String?, afterUploadID: String?, limit: Int
    ) async throws -> [S3MultipartUpload]
    /// Ends an upload as `object`, made of `segments` (the chosen parts' files): the upload and its parts go, the
    /// object is recorded. Returns the files no longer referenced (parts not chosen, the replaced object's), or nil
    /// when the upload no longer exists.
    func completeMultipartUpload(
        _ uploadID: String, as object: S3ObjectRecord, segments: [S3ObjectSegment]
    ) async throws -> [FileKey]?
    /// Drops an upload and its parts; returns the parts' files, or nil when there was no such upload.
    func abortMultipartUpload(_ uploadID: String) async throws -> [FileKey]?
    /// Uploads started before `time` (expired), at most `limit`.
    func multipartUploads(initiatedBefore time: Date, limit: Int) async throws -> [S3MultipartUpload]

    /// Objects whose SHA-256 over all their bytes is still to be computed (multipart objects, after completion),
    /// oldest first, at most `limit`.
    func objectsAwaitingDigest(limit: Int) async throws -> [S3ObjectName]
    /// Claims for `owner` until `leaseUntil` at most `limit` of the objects awaiting their SHA-256 that no claim holds
    /// at `now` (never claimed, or the claim ran out), oldest first: with several gateways on one database, each
    /// object is read by one of them at a time.
    func claimObjectsAwaitingDigest(owner: String, now: Date, leaseUntil: Date, limit: Int) async throws -> [S3ObjectName]
    /// Keeps an object `owner` claimed from every gateway until `time` (its read failed: try again then, or now to
    /// give it back); nothing changes if the claim is another's or the object no longer waits.
    func holdObjectDigestClaim(bucket: String, key: String, owner: String, until time: Date) async throws
    /// Records the SHA-256 of all an object's bytes, if the object is still the one with `etag` and waits for it;
    /// false otherwise (replaced or deleted meanwhile: the digest is of bytes no object holds any more).
    func recordObjectDigest(_ digest: SHA256Digest, bucket: String, key: String, etag: String) async throws -> Bool
    /// For each of `files` that holds an S3 object's bytes, that object and which of its segments the file is.
    func objectRoles(of files: [FileKey]) async throws -> [FileKey: S3FileRole]
}

/// What a file is to the S3 object whose bytes it holds.
public struct S3FileRole: Sendable, Equatable {
    public var object: S3ObjectRecord
    /// 1-based, in the object's order (its part number's rank among the parts completed; 1 for a single-part object).
    public var segmentNumber: Int

    public init(object: S3ObjectRecord, segmentNumber: Int) {
        self.object = object
        self.segmentNumber = segmentNumber
    }
}

public struct S3BucketRecord: Sendable, Equatable {
    public var name: String
    public var createdAt: Date
    public var owner: String

    public init(name: String, createdAt: Date, owner: String) {
        self.name = name
        self.createdAt = createdAt
        self.owner = owner
    }
}

public enum S3BucketDeletion: Sendable, Equatable {
    case deleted
    case notFound
    /// It still holds objects or uploads in progress.
    case notEmpty
}

/// One S3 object's name and what a HEAD answers about it.
public struct S3ObjectRecord: Sendable, Equatable {
    public var bucket: String
    public var key: String
    public var sizeBytes: Int64
    /// With quotes, as S3 sends it.
    public var etag: String
    public var contentType: String
    /// Stored headers, lower-case names: `x-amz-meta-*`, `cache-control`, `content-disposition`, …
    public var metadata: [String: String]
    /// Checksums verified at upload, algorithm name ("CRC32", …) -> base64.
    public var checksums: [String: String]
    /// Of all the object's bytes; nil for a multipart object until it has been read once after completion (see
    /// `S3Catalog.objectsAwaitingDigest`). Recording an object without it queues it for that read.
    public var sha256: SHA256Digest?
    public var lastModified: Date
    /// 0 for a single-part object.
    public var parts: Int

    public init(
        bucket: String, key: String, sizeBytes: Int64, etag: String, contentType: String, metadata: [String: String],
        checksums: [String: String], sha256: SHA256Digest?, lastModified: Date, parts: Int = 0
    ) {
        self.bucket = bucket
        self.key = key
        self.sizeBytes = sizeBytes
        self.etag = etag
        self.contentType = contentType
        self.metadata = metadata
        self.checksums = checksums
        self.sha256 = sha256
        self.lastModified = lastModified
        self.parts = parts
    }
}

/// One stored file of an object, at its place in the object's bytes.
public struct S3ObjectSegment: Sendable, Equatable {
    public var fileKey: FileKey
    public var offset: Int64
    public var sizeBytes: Int64

    public init(fileKey: FileKey, offset: Int64, sizeBytes: Int64) {
        self.fileKey = fileKey
        self.offset = offset
        self.sizeBytes = sizeBytes
    }

    /// The only segment of a single-part object: all of `file`.
    public init(wholeFile file: FileRecord) {
        self.init(fileKey: file.key, offset: 0, sizeBytes: file.sizeBytes)
    }
}

public struct S3StoredObject: Sendable, Equatable {
    public var object: S3ObjectRecord
    /// In order, covering the object's bytes.
    public var segments: [S3ObjectSegment]

    public init(object: S3ObjectRecord, segments: [S3ObjectSegment]) {
        self.object = object
        self.segments = segments
    }
}

public struct S3MultipartUpload: Sendable, Equatable {
    public var uploadID: String
    public var bucket: String
    public var key: String
    public var initiatedAt: Date
    public var contentType: String
    public var metadata: [String: String]
    public var checksumAlgorithm: String?
    /// `COMPOSITE` or `FULL_OBJECT` (`x-amz-checksum-type`), with an algorithm only.
    public var checksumType: String?

    public init(
        uploadID: String, bucket: String, key: String, initiatedAt: Date, contentType: String, metadata: [String: String],
        checksumAlgorithm: String? = nil, checksumType: String? = nil
    ) {
        self.uploadID = uploadID
        self.bucket = bucket
        self.key = key
        self.initiatedAt = initiatedAt
        self.contentType = contentType
        self.metadata = metadata
        self.checksumAlgorithm = checksumAlgorithm
        self.checksumType = checksumType
    }
}

public struct S3PartRecord: Sendable, Equatable {
    public var uploadID: String
    public var partNumber: Int
    public var fileKey: FileKey
    public var sizeBytes: Int64
    public var etag: String
    public var checksums: [String: String]
    public var sha256: SHA256Digest
    public var uploadedAt: Date

    public init(
        uploadID: String, partNumber: Int, fileKey: FileKey, sizeBytes: Int64, etag: String, checksums: [String: String],
        sha256: SHA256Digest, uploadedAt: Date
    ) {
        self.uploadID = uploadID
        self.partNumber = partNumber
        self.fileKey = fileKey
        self.sizeBytes = sizeBytes
        self.etag = etag
        self.checksums = checksums
        self.sha256 = sha256
        self.uploadedAt = uploadedAt
    }
}

/// `s3_objects.sha256` as both backends store it: hex, or '' while the object waits for its whole-object digest
/// (`s3_pending_object_digests`).
enum S3ObjectDigestColumn {
    static func text(_ digest: SHA256Digest?) -> String { digest?.hex ?? "" }

    static func digest(_ text: String) throws -> SHA256Digest? {
        if text.isEmpty { return nil }
        guard let digest = SHA256Digest(hex: text) else { throw MetadataError.corruptRow("s3_objects sha256") }
        return digest
    }
}

/// JSON text of a string map, keys sorted (stable rows, comparable in tests).
enum S3CatalogJSON {
    static func encode(_ map: [String: String]) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: (try? encoder.encode(map)) ?? Data("{}".utf8), as: UTF8.self)
    }

    static func decode(_ text: String) -> [String: String] {
        // Most objects carry no metadata: a listing page decodes thousands of these.
        if text == "{}" { return [:] }
        return (try? JSONDecoder().decode([String: String].self, from: Data(text.utf8))) ?? [:]
    }
}

/// Key ranges in S3's order (UTF-8 bytes, which is Unicode scalar order).
public enum S3KeyOrder {
    /// The least string above every string that starts with `prefix`: its last scalar raised by one, so a listing
    /// reads `key >= prefix AND key < bound` straight off the index. nil when there is none (an empty prefix, or one
    /// made only of U+10FFFF), where the caller filters by prefix instead.
    public static func upperBound(ofPrefix prefix: String) -> String? {
        var scalars = Array(prefix.unicodeScalars)
        while let last = scalars.popLast() {
            var next = last.value + 1
            if next == 0xD800 { next = 0xE000 }
            if let raised = Unicode.Scalar(next) {
                scalars.append(raised)
                var bound = ""
                bound.unicodeScalars.append(contentsOf: scalars)
                return bound
            }
        }
        return nil
    }
}
