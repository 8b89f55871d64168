import DFSClient
import DFSCore
import DFSMetadata
import Foundation
import Logging
import NIOCore
import S3Protocol
import Synchronization

/// The S3 API's domain: buckets and objects over the same replicated, verified data path as `/upload` and
/// `/download`. An object's bytes are stored as ordinary files (one, or one per multipart part), so replication,
/// the audit, repair and rebalancing treat them like any file; the catalog maps names to those files.
struct S3Objects: Sendable {
    let catalog: any S3Catalog
    let uploads: UploadCoordinator
    let downloads: DownloadCoordinator
    let deleter: FileDeleter
    let maxUploadSize: Int64
    /// Every part but the last must hold at least this much (S3's 5 MiB).
    var minimumPartSize: Int64 = 5 << 20
    /// The part numbers S3 allows.
    static let partNumbers = 1...10_000

    // MARK: - buckets

    static func isValidBucketName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard (3...63).contains(bytes.count), !name.contains(".."), !name.hasPrefix("xn--") else { return false }
        func isLowerAlphanumeric(_ byte: UInt8) -> Bool {
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
        }
        guard isLowerAlphanumeric(bytes.first!), isLowerAlphanumeric(bytes.last!) else { return false }
        return bytes.allSatisfy { isLowerAlphanumeric($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") }
    }

    func createBucket(_ name: String, owner: String) async throws {
        guard Self.isValidBucketName(name) else { throw S3Error.invalidBucketName(name) }
        guard try await catalog.createBucket(name, owner: owner, at: Date()) else { throw S3Error.bucketAlreadyOwnedByYou(name) }
    }

    @discardableResult
    func requireBucket(_ name: String) async throws -> S3BucketRecord {
        guard let bucket = try await catalog.bucket(name) else { throw S3Error.noSuchBucket(name) }
        return bucket
    }

    func deleteBucket(_ name: String) async throws {
        switch try await catalog.deleteBucket(name) {
        case .deleted: return
        case .notFound: throw S3Error.noSuchBucket(name)
        case .notEmpty: throw S3Error.bucketNotEmpty(name)
        }
    }

    // MARK: - objects

    /// Stores a body as one file through the upload path; it counts only once every expectation held.
    /// - Parameter recording: records the file in place of `MetadataStore.recordUpload` (see `UploadDescriptor`).
    func storeFile<Base>(
        _ body: S3IncomingBody<Base>, of object: S3ObjectName, logger: Logger,
        recording: (@Sendable (UploadRecord) async throws -> Void)? = nil
    ) async throws -> (FileRecord, S3BodyReceipt.Contents) {
        let reader = UploadBodyReader(
            body: AnyByteStream(body), format: .raw, maxSize: maxUploadSize, filename: Self.filename(for: object.key))
        let outcome: UploadOutcome
        do {
            outcome = try await uploads.store(
                reader,
                as: UploadDescriptor(
                    filename: Self.filename(for: object.key), expectedDigest: body.expectations.payloadSHA256,
                    length: body.expectations.decodedLength, s3Object: object, recording: recording),
                logger: logger)
        } catch {
            if let refusal = body.receipt.value.refusal { throw refusal }
            if case UploadError.digestMismatch = error {
                throw S3Error(
                    "XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does not match what was computed.",
                    status: .badRequest)
            }
            if case UploadError.payloadTooLarge(let limit) = error { throw S3Error.entityTooLarge(limit: limit) }
            throw error
        }
        let receipt = body.receipt.value
        if let refusal = receipt.refusal {
            await release([outcome.file.key], logger: logger)
            throw refusal
        }
        return (outcome.file, receipt)
    }

    func putObject<Base>(
        bucket: String, key: String, body: S3IncomingBody<Base>, contentType: String, metadata: [String: String],
        logger: Logger
    ) async throws -> S3ObjectRecord {
        try await requireBucket(bucket)
        // The object is recorded with its file, in the upload path's one transaction (one commit per PUT, and never
        // a file without its object); the body has ended by then, so its MD5 and checksums are known.
        let committed = CommittedObject()
        _ = try await storeFile(body, of: S3ObjectName(bucket: bucket, key: key), logger: logger) { [catalog] upload in
            let receipt = body.receipt.value
            if let refusal = receipt.refusal { throw refusal }
            let file = upload.file
            let object = S3ObjectRecord(
                bucket: bucket, key: key, sizeBytes: file.sizeBytes, etag: "\"\(S3MD5.hex(receipt.md5))\"",
                contentType: contentType, metadata: metadata, checksums: receipt.checksums, sha256: file.checksum,
                lastModified: file.uploadedAt)
            let replaced = try await catalog.putObject(object, recordingUpload: upload)
            committed.value.withLock { $0 = (object, replaced) }
        }
        guard let (object, replaced) = committed.value.withLock({ $0 }) else {
            preconditionFailure("an upload answered without recording its S3 object")
        }
        await release(replaced, logger: logger)
        return object
    }

    func object(bucket: String, key: String) async throws -> S3StoredObject {
        guard let stored = try await catalog.object(bucket: bucket, key: key) else {
            try await requireBucket(bucket)
            throw S3Error.noSuchKey(bucket, key)
        }
        return stored
    }

    /// The object's bytes in `range` (all of them when nil), segment after segment, each from the best replica with
    /// the download path's verification and failover. The first segment is opened before this returns, so a
    /// failure to read at all is an error answer, not a cut response.
    func read(_ stored: S3StoredObject, range: ByteRange?, logger: Logger) async throws -> AnyByteStream {
        let size = stored.object.sizeBytes
        guard size > 0 else { return AnyByteStream(chunks: []) }
        let wanted = range ?? ByteRange(first: 0, last: size - 1)
        var pieces: [(segment: S3ObjectSegment, range: ByteRange)] = []
        for segment in stored.segments where segment.sizeBytes > 0 {
            let first = max(wanted.first, segment.offset)
            let last = min(wanted.last, segment.offset + segment.sizeBytes - 1)
            guard first <= last else { continue }
            pieces.append((segment, ByteRange(first: first - segment.offset, last: last - segment.offset)))
        }
        guard let head = pieces.first else { return AnyByteStream(chunks: []) }
        let downloads = self.downloads
        let open: @Sendable (S3ObjectSegment, ByteRange) async throws -> AnyByteStream = { segment, range in
            let entry = try await downloads.metadata(of: segment.fileKey)
            let whole = range.first == 0 && range.last == segment.sizeBytes - 1
            return try await downloads.open(entry, rangeHeader: whole ? nil : range.headerValue, logger: logger).body
        }
        let first = try await open(head.segment, head.range)
        if pieces.count == 1 { return first }
        return AnyByteStream(SegmentedBytes(first: first, rest: Array(pieces.dropFirst()), open: open))
    }

    func deleteObject(bucket: String, key: String, logger: Logger) async throws {
        guard let files = try await catalog.deleteObject(bucket: bucket, key: key) else {
            // Deleting what is not there succeeds in S3, but not in a bucket that does not exist.
            try await requireBucket(bucket)
            return
        }
        await release(files, logger: logger)
    }

    /// Deletes files no object refers to any more, through the ordinary delete path. A failure only leaves an
    /// unreferenced file behind (listed in `/files`), never a broken object, so it is logged, not thrown.
    func release(_ files: [FileKey], logger: Logger) async {
        for file in files {
            do {
                _ = try await deleter.delete(file, logger: logger)
            } catch {
                logger.warning(
                    "could not delete a file no S3 object uses any more", metadata: ["file_key": "\(file)", "error": "\(error)"])
            }
        }
    }

    /// The name `/files` and downloads show for an object's file: the key's last path component.
    static func filename(for key: String) -> String {
        let last = key.split(separator: "/").last.map(String.init) ?? ""
        return last.isEmpty ? "object" : last
    }

    // MARK: - multipart uploads

    /// The checksum a multipart upload announces (`x-amz-checksum-algorithm`, `x-amz-checksum-type`): every part
    /// gets that algorithm's checksum, and the object at completion the composite or full-object one made from them.
    struct AnnouncedChecksum: Equatable {
        var algorithm: S3ChecksumAlgorithm
        var type: S3ChecksumType

        /// nil when no algorithm is announced; refuses what S3 refuses (a type without an algorithm, a full-object
        /// SHA, a composite CRC64NVME).
        init?(algorithm: String?, type: String?) throws {
            guard let algorithm else {
                if type != nil { throw S3Error.invalidRequest("x-amz-checksum-type needs x-amz-checksum-algorithm") }
                return nil
            }
            guard let known = S3ChecksumAlgorithm(rawValue: algorithm.uppercased()) else {
                throw S3Error.invalidRequest("Checksum algorithm \(algorithm) is not supported")
            }
            let chosen: S3ChecksumType
            if let type {
                guard let named = S3ChecksumType(rawValue: type.uppercased()) else {
                    throw S3Error.invalidRequest("Value for x-amz-checksum-type header is invalid.")
                }
                chosen = named
            } else {
                chosen = S3ChecksumType.defaultType(for: known)
            }
            guard chosen.supports(known) else {
                throw S3Error.invalidRequest(
                    "The \(known.rawValue) checksum algorithm does not support the \(chosen.rawValue) checksum type.")
            }
            self.algorithm = known
            self.type = chosen
        }

        init?(_ upload: S3MultipartUpload) {
            guard let algorithm = upload.checksumAlgorithm.flatMap(S3ChecksumAlgorithm.init(rawValue:)) else { return nil }
            self.algorithm = algorithm
            type = upload.checksumType.flatMap(S3ChecksumType.init(rawValue:)) ?? .defaultType(for: algorithm)
        }
    }

    func createMultipartUpload(
        bucket: String, key: String, contentType: String, metadata: [String: String], checksum: AnnouncedChecksum?
    ) async throws -> String {
        try await requireBucket(bucket)
        let uploadID = Self.newUploadID()
        try await catalog.createMultipartUpload(
            S3MultipartUpload(
                uploadID: uploadID, bucket: bucket, key: key, initiatedAt: Date(), contentType: contentType,
                metadata: metadata, checksumAlgorithm: checksum?.algorithm.rawValue, checksumType: checksum?.type.rawValue))
        return uploadID
    }

    func upload(_ uploadID: String, bucket: String, key: String) async throws -> S3MultipartUpload {
        guard let upload = try await catalog.multipartUpload(uploadID), upload.bucket == bucket, upload.key == key else {
            throw S3Error.noSuchUpload(uploadID)
        }
        return upload
    }

    /// Stores one part of `upload` (found with `upload(_:bucket:key:)`, whose announced checksum the body's
    /// expectations were made with).
    func uploadPart<Base>(
        of upload: S3MultipartUpload, number: Int, body: S3IncomingBody<Base>, logger: Logger
    ) async throws -> S3PartRecord {
        guard Self.partNumbers.contains(number) else { throw S3Error.invalidPartNumberArgument }
        let uploadID = upload.uploadID
        let (file, receipt) = try await storeFile(body, of: S3ObjectName(bucket: upload.bucket, key: upload.key), logger: logger)
        let part = S3PartRecord(
            uploadID: uploadID, partNumber: number, fileKey: file.key, sizeBytes: file.sizeBytes,
            etag: "\"\(S3MD5.hex(receipt.md5))\"", checksums: receipt.checksums, sha256: file.checksum,
            uploadedAt: file.uploadedAt)
        guard let replaced = try await catalog.putPart(part) else {
            // Completed or aborted while this part streamed: nothing will ever use its file.
            await release([file.key], logger: logger)
            throw S3Error.noSuchUpload(uploadID)
        }
        if let replaced { await release([replaced], logger: logger) }
        return part
    }

    struct CompletedPart: Equatable {
        var number: Int
        var etag: String
        /// The part's checksum the client lists (`<ChecksumCRC32>` …), algorithm name -> base64.
        var checksums: [String: String] = [:]
    }

    /// What a completion request asserts about the whole object besides its parts.
    struct CompletionClaims: Equatable {
        /// `x-amz-checksum-*` of the whole object (full-object, or composite with its `-N`).
        var checksums: [String: String] = [:]
        /// `x-amz-checksum-type`.
        var checksumType: String?
        /// `x-amz-mp-object-size`.
        var objectSize: Int64?
    }

    /// Ends the upload as an object made of the listed parts, in their order; costs metadata only (the parts'
    /// files become the object's segments as they are). Its SHA-256 over all its bytes follows once
    /// `digestWholeObject` has read it (`WholeObjectDigestLoop`).
    func completeMultipartUpload(
        _ uploadID: String, bucket: String, key: String, parts requested: [CompletedPart],
        claims: CompletionClaims = CompletionClaims(), logger: Logger
    ) async throws -> S3ObjectRecord {
        let upload = try await upload(uploadID, bucket: bucket, key: key)
        let announced = AnnouncedChecksum(upload)
        guard !requested.isEmpty else {
            throw S3Error.malformedXML("the request must list at least one part")
        }
        for (earlier, later) in zip(requested, requested.dropFirst()) where later.number <= earlier.number {
            throw S3Error.invalidPartOrder
        }
        var stored: [Int: S3PartRecord] = [:]
        var after = 0
        while true {
            let page = try await catalog.parts(of: uploadID, after: after, limit: 1000)
            for part in page { stored[part.partNumber] = part }
            guard let last = page.last, page.count == 1000 else { break }
            after = last.partNumber
        }
        var chosen: [S3PartRecord] = []
        var segments: [S3ObjectSegment] = []
        var partMD5s: [[UInt8]] = []
        var offset: Int64 = 0
        for (index, wanted) in requested.enumerated() {
            guard let part = stored[wanted.number], Self.sameETag(part.etag, wanted.etag) else {
                throw S3Error.invalidPart(
                    "One or more of the specified parts could not be found or its ETag did not match (part \(wanted.number)).")
            }
            if index < requested.count - 1 && part.sizeBytes < minimumPartSize {
                throw S3Error.entityTooSmall(part: part.partNumber)
            }
            for (algorithm, value) in wanted.checksums where part.checksums[algorithm] != value {
                throw S3Error.invalidPart(
                    "One or more of the specified parts could not be found or its checksum did not match (part \(wanted.number), \(algorithm))."
                )
            }
            chosen.append(part)
            segments.append(S3ObjectSegment(fileKey: part.fileKey, offset: offset, sizeBytes: part.sizeBytes))
            partMD5s.append(Self.md5Bytes(ofETag: part.etag))
            offset += part.sizeBytes
        }
        if let claimed = claims.objectSize, claimed != offset {
            throw S3Error.invalidRequest(
                "The provided 'x-amz-mp-object-size' header value \(claimed) does not match what was computed: \(offset)")
        }
        let checksums = try Self.objectChecksums(announced, parts: chosen, claims: claims)
        let object = S3ObjectRecord(
            bucket: bucket, key: key, sizeBytes: offset, etag: S3MD5.multipartETag(partMD5s: partMD5s),
            contentType: upload.contentType, metadata: upload.metadata, checksums: checksums,
            sha256: nil, lastModified: Date(), parts: requested.count)
        guard let released = try await catalog.completeMultipartUpload(uploadID, as: object, segments: segments) else {
            throw S3Error.noSuchUpload(uploadID)
        }
        await release(released, logger: logger)
        return object
    }

    /// The object's checksum made from its parts' (nothing when the upload announced none, or a part predates the
    /// announcement), checked against the one the completion request claims for the whole object.
    static func objectChecksums(
        _ announced: AnnouncedChecksum?, parts: [S3PartRecord], claims: CompletionClaims
    ) throws -> [String: String] {
        if let claimedType = claims.checksumType, claimedType.uppercased() != announced?.type.rawValue {
            throw S3Error.invalidRequest(
                "The upload was created using the \(announced?.type.rawValue ?? "no") checksum mode. The complete request must use the same checksum mode."
            )
        }
        guard let announced else {
            if let claimed = claims.checksums.first {
                throw S3Error.invalidRequest(
                    "The upload was created without a checksum algorithm: a \(claimed.key) of the whole object cannot be checked."
                )
            }
            return [:]
        }
        let name = announced.algorithm.rawValue
        let partChecksums = parts.compactMap { part in part.checksums[name].map { ($0, part.sizeBytes) } }
        guard partChecksums.count == parts.count,
            let value = S3MultipartChecksum.value(announced.algorithm, type: announced.type, parts: partChecksums)
        else { return [:] }
        for (algorithm, claimed) in claims.checksums {
            guard algorithm == name else {
                throw S3Error.invalidRequest(
                    "The upload was created using a \(name.lowercased()) checksum; the complete request sent \(algorithm.lowercased())."
                )
            }
            guard claimed == value else {
                throw S3Error.badDigest("The \(name) you specified for the whole object did not match the calculated checksum.")
            }
        }
        return [name: value]
    }

    func abortMultipartUpload(_ uploadID: String, bucket: String, key: String, logger: Logger) async throws {
        _ = try await upload(uploadID, bucket: bucket, key: key)
        guard let files = try await catalog.abortMultipartUpload(uploadID) else { throw S3Error.noSuchUpload(uploadID) }
        await release(files, logger: logger)
    }

    /// Aborts uploads started more than `age` ago; returns how many.
    func expireMultipartUploads(olderThan age: Duration, logger: Logger) async throws -> Int {
        let cutoff = Date().addingTimeInterval(-Double(age.components.seconds))
        var expired = 0
        while true {
            let stale = try await catalog.multipartUploads(initiatedBefore: cutoff, limit: 100)
            for upload in stale {
                if let files = try await catalog.abortMultipartUpload(upload.uploadID) {
                    await release(files, logger: logger)
                    expired += 1
                }
            }
            if stale.count < 100 { return expired }
        }
    }

    static func newUploadID() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<4).map { _ in String(generator.next() as UInt64, radix: 16).leftPadded(to: 16) }.joined()
    }

    static func sameETag(_ a: String, _ b: String) -> Bool {
        func bare(_ text: String) -> Substring {
            var text = Substring(text.trimmingCharacters(in: .whitespaces))
            if text.hasPrefix("\""), text.hasSuffix("\""), text.count >= 2 { text = text.dropFirst().dropLast() }
            return text
        }
        return bare(a).lowercased() == bare(b).lowercased()
    }

    static func md5Bytes(ofETag etag: String) -> [UInt8] {
        let hex = Array(etag.filter(\.isHexDigit).utf8.prefix(32))
        return stride(from: 0, to: hex.count - 1, by: 2).compactMap {
            UInt8(String(decoding: hex[$0...$0 + 1], as: UTF8.self), radix: 16)
        }
    }

    /// Reads an object still without its whole SHA-256 (a multipart object) once, through the verified download
    /// path, and records the digest of what it read; nil when there was nothing to do (the object is gone, already
    /// has its digest, or was replaced while it was read).
    func digestWholeObject(_ name: S3ObjectName, logger: Logger) async throws -> SHA256Digest? {
        guard let stored = try await catalog.object(bucket: name.bucket, key: name.key), stored.object.sha256 == nil else {
            return nil
        }
        var hasher = StreamingSHA256()
        var length: Int64 = 0
        for try await chunk in try await read(stored, range: nil, logger: logger) {
            hasher.update(chunk)
            length += Int64(chunk.readableBytes)
        }
        guard length == stored.object.sizeBytes else {
            throw S3Error(
                "InternalError", "read \(length) of the object's \(stored.object.sizeBytes) bytes",
                status: .internalServerError)
        }
        let digest = hasher.finalize()
        guard
            try await catalog.recordObjectDigest(digest, bucket: name.bucket, key: name.key, etag: stored.object.etag)
        else { return nil }
        return digest
    }
}

/// What an S3 PUT's recording step committed: the object and the files of the one it replaced.
private final class CommittedObject: Sendable {
    let value = Mutex<(S3ObjectRecord, [FileKey])?>(nil)
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}

/// Segments of an object read one after another; each is opened only when the one before it ended.
struct SegmentedBytes: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let first: AnyByteStream
    let rest: [(segment: S3ObjectSegment, range: ByteRange)]
    let open: @Sendable (S3ObjectSegment, ByteRange) async throws -> AnyByteStream

    func makeAsyncIterator() -> Iterator { Iterator(current: first.makeAsyncIterator(), rest: rest[...], open: open) }

    struct Iterator: AsyncIteratorProtocol {
        var current: AnyByteStream.AsyncIterator
        var rest: ArraySlice<(segment: S3ObjectSegment, range: ByteRange)>
        let open: @Sendable (S3ObjectSegment, ByteRange) async throws -> AnyByteStream

        mutating func next() async throws -> ByteBuffer? {
            while true {
                if let chunk = try await current.next() { return chunk }
                guard let (segment, range) = rest.popFirst() else { return nil }
                current = try await open(segment, range).makeAsyncIterator()
            }
        }
    }
}
