import DFSClient
import DFSCore
import DFSMetadata
import DFSServer
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import S3Protocol

/// The S3 listener (`--s3-port`): authenticates every request (SigV4), dispatches on method, bucket, key and
/// sub-resource, and answers in S3's XML. Thin: the work is in `S3Objects` and `S3Listing`.
struct S3Responder: HTTPResponder {
    typealias Context = GatewayContext

    let objects: S3Objects
    let verifier: S3RequestVerifier
    let region: String
    /// Virtual-host style: `bucket.<domain>`.
    let domain: String?

    func respond(to request: Request, context: GatewayContext) async throws -> Response {
        let requestID = context.logger[metadataKey: "request_id"].map { "\($0)" } ?? "-"
        var logger = context.logger
        do {
            let s3 = try S3Request(request, domain: domain)
            logger[metadataKey: "s3"] = "\(s3.method.rawValue) \(s3.resource)"
            let authentication: S3Authentication
            do {
                authentication = try verifier.authenticate(s3.signed)
            } catch let error as S3AuthError {
                throw S3Error(error)
            }
            if s3.isWrite && authentication.credential.readOnly { throw S3Error(S3AuthError.readOnlyKey()) }
            return try await handle(s3, body: request.body, authentication: authentication, logger: logger)
        } catch {
            let s3Error = Self.s3Error(for: error)
            if s3Error.status.code >= 500 {
                logger.error("S3 request failed", metadata: ["error": "\(error)"])
            } else {
                logger.debug("S3 request refused", metadata: ["error": "\(s3Error)"])
            }
            var headers: HTTPFields = [.contentType: "application/xml"]
            headers[HTTPField.Name("x-amz-request-id")!] = requestID
            if request.method == .head {
                return Response(status: s3Error.status, headers: headers)
            }
            return Response(
                status: s3Error.status, headers: headers,
                body: .init(byteBuffer: ByteBuffer(string: s3Error.xml(requestID: requestID))))
        }
    }

    /// Any error as S3 would say it: S3 errors as they are, the gateway's own through its one HTTP mapping.
    static func s3Error(for error: any Error) -> S3Error {
        if let error = error as? S3Error { return error }
        if let error = error as? S3AuthError { return S3Error(error) }
        let api = APIError(mapping: error)
        let code: String
        switch api.status.code {
        case 400: code = "InvalidRequest"
        case 404: code = "NoSuchKey"
        case 413: code = "EntityTooLarge"
        case 416: code = "InvalidRange"
        case 503: code = "ServiceUnavailable"
        case 507: code = "InsufficientStorage"
        default: code = api.status.code >= 500 ? "InternalError" : "InvalidRequest"
        }
        return S3Error(code, api.message, status: api.status)
    }

    private func handle(
        _ request: S3Request, body: RequestBody, authentication: S3Authentication, logger: Logger
    ) async throws -> Response {
        guard let bucket = request.bucket else {
            guard request.method == .get else { throw S3Error.methodNotAllowed(request.method.rawValue) }
            return try await listBuckets(authentication)
        }
        guard let key = request.key else {
            return try await handleBucket(bucket, request, body: body, authentication: authentication, logger: logger)
        }
        return try await handleObject(bucket, key, request, body: body, authentication: authentication, logger: logger)
    }

    // MARK: - service and buckets

    private func listBuckets(_ authentication: S3Authentication) async throws -> Response {
        var xml = S3XMLWriter(root: "ListAllMyBucketsResult")
        xml.group("Owner") {
            $0.element("ID", authentication.credential.name)
            $0.element("DisplayName", authentication.credential.name)
        }
        let buckets = try await objects.catalog.buckets()
        xml.group("Buckets") { xml in
            for bucket in buckets {
                xml.group("Bucket") {
                    $0.element("Name", bucket.name)
                    $0.element("CreationDate", MetadataTime.format(bucket.createdAt))
                }
            }
        }
        return Self.xmlResponse(xml)
    }

    private static let unsupportedBucketSubresources = [
        "acl", "policy", "cors", "lifecycle", "tagging", "website", "replication", "encryption", "notification",
        "logging", "object-lock", "requestPayment", "accelerate", "analytics", "inventory", "metrics", "ownershipControls",
        "publicAccessBlock", "intelligent-tiering", "versions", "policyStatus",
    ]

    private func handleBucket(
        _ bucket: String, _ request: S3Request, body: RequestBody, authentication: S3Authentication, logger: Logger
    ) async throws -> Response {
        if let unsupported = Self.unsupportedBucketSubresources.first(where: request.has) {
            throw S3Error.notImplemented("The bucket sub-resource ?\(unsupported)")
        }
        switch request.method {
        case .put:
            let configuration = try await Self.smallBody(body, request, authentication: authentication)
            if !configuration.isEmpty {
                let document = try Self.parseXML(configuration)
                if let constraint = document.child("LocationConstraint")?.text, !constraint.isEmpty, constraint != region {
                    throw S3Error(
                        "InvalidLocationConstraint", "The specified location-constraint is not valid: this store is \(region).",
                        status: .badRequest)
                }
            }
            try await objects.createBucket(bucket, owner: authentication.credential.name)
            return Response(status: .ok, headers: [.location: "/\(bucket)"])
        case .head:
            try await objects.requireBucket(bucket)
            var headers = HTTPFields()
            headers[HTTPField.Name("x-amz-bucket-region")!] = region
            return Response(status: .ok, headers: headers)
        case .delete:
            try await objects.deleteBucket(bucket)
            return Response(status: .noContent)
        case .get:
            try await objects.requireBucket(bucket)
            if request.has("location") {
                let xml = S3XMLWriter(root: "LocationConstraint")
                // us-east-1 is S3's empty constraint; clients map it back.
                if region != "us-east-1" { return Self.xmlResponse(xml.finishing(text: region)) }
                return Self.xmlResponse(xml)
            }
            if request.has("versioning") {
                return Self.xmlResponse(S3XMLWriter(root: "VersioningConfiguration"))
            }
            if request.has("uploads") { return try await listMultipartUploads(bucket, request) }
            return try await listObjects(bucket, request)
        case .post:
            guard request.has("delete") else { throw S3Error.methodNotAllowed("POST") }
            return try await deleteObjects(bucket, request, body: body, authentication: authentication, logger: logger)
        default:
            throw S3Error.methodNotAllowed(request.method.rawValue)
        }
    }

    private func listObjects(_ bucket: String, _ request: S3Request) async throws -> Response {
        let isV2 = request.query["list-type"] == "2"
        let urlEncoded: Bool
        switch request.query["encoding-type"] {
        case nil: urlEncoded = false
        case "url": urlEncoded = true
        case let other?: throw S3Error.invalidArgument("Invalid Encoding Method specified in Request: \(other)")
        }
        var maxKeys = 1000
        if let text = request.query["max-keys"] {
            guard let value = Int(text), value >= 0 else { throw S3Error.invalidArgument("max-keys must be a whole number ≥ 0") }
            maxKeys = min(value, 1000)
        }
        let prefix = request.query["prefix"] ?? ""
        let delimiter = request.query["delimiter"].flatMap { $0.isEmpty ? nil : $0 }
        var marker: String?
        if isV2 {
            if let token = request.query["continuation-token"] {
                guard let decoded = Data(base64Encoded: token).flatMap({ String(data: $0, encoding: .utf8) }) else {
                    throw S3Error.invalidArgument("The continuation token provided is incorrect")
                }
                marker = decoded
            } else {
                marker = request.query["start-after"]
            }
        } else {
            marker = request.query["marker"]
        }
        let listing = S3Listing(
            prefix: prefix, delimiter: delimiter, maxKeys: maxKeys, marker: marker.flatMap { $0.isEmpty ? nil : $0 })
        let catalog = objects.catalog
        let page = try await listing.page { after, inclusive, limit in
            try await catalog.listObjects(bucket: bucket, prefix: prefix, after: after, inclusive: inclusive, limit: limit)
        }
        func encoded(_ text: String) -> String { urlEncoded ? S3URIEncoding.encode(text, keepingSlash: true) : text }
        var xml = S3XMLWriter(root: "ListBucketResult")
        xml.element("Name", bucket)
        xml.element("Prefix", encoded(prefix))
        if isV2 {
            if let token = request.query["continuation-token"] { xml.element("ContinuationToken", token) }
            if let startAfter = request.query["start-after"] { xml.element("StartAfter", encoded(startAfter)) }
            xml.element("KeyCount", page.objects.count + page.commonPrefixes.count)
        } else {
            xml.element("Marker", encoded(request.query["marker"] ?? ""))
        }
        xml.element("MaxKeys", maxKeys)
        if let delimiter { xml.element("Delimiter", encoded(delimiter)) }
        xml.element("IsTruncated", page.isTruncated)
        if page.isTruncated, let last = page.last {
            if isV2 {
                xml.element("NextContinuationToken", Data(last.utf8).base64EncodedString())
            } else if delimiter != nil {
                xml.element("NextMarker", encoded(last))
            }
        }
        if urlEncoded { xml.element("EncodingType", "url") }
        for object in page.objects {
            xml.group("Contents") {
                $0.element("Key", encoded(object.key))
                $0.element("LastModified", MetadataTime.format(object.lastModified))
                $0.element("ETag", object.etag)
                $0.element("Size", object.sizeBytes)
                $0.element("StorageClass", "STANDARD")
            }
        }
        for prefix in page.commonPrefixes {
            xml.group("CommonPrefixes") { $0.element("Prefix", encoded(prefix)) }
        }
        return Self.xmlResponse(xml)
    }

    private func listMultipartUploads(_ bucket: String, _ request: S3Request) async throws -> Response {
        let prefix = request.query["prefix"] ?? ""
        let maxUploads = min(Int(request.query["max-uploads"] ?? "") ?? 1000, 1000)
        let keyMarker = request.query["key-marker"].flatMap { $0.isEmpty ? nil : $0 }
        let uploadMarker = request.query["upload-id-marker"].flatMap { $0.isEmpty ? nil : $0 }
        let uploads = try await objects.catalog.multipartUploads(
            bucket: bucket, prefix: prefix, afterKey: keyMarker, afterUploadID: uploadMarker, limit: maxUploads + 1)
        let shown = uploads.prefix(maxUploads)
        var xml = S3XMLWriter(root: "ListMultipartUploadsResult")
        xml.element("Bucket", bucket)
        xml.element("KeyMarker", keyMarker ?? "")
        xml.element("UploadIdMarker", uploadMarker ?? "")
        if uploads.count > maxUploads, let last = shown.last {
            xml.element("NextKeyMarker", last.key)
            xml.element("NextUploadIdMarker", last.uploadID)
        }
        xml.element("Prefix", prefix)
        xml.element("MaxUploads", maxUploads)
        xml.element("IsTruncated", uploads.count > maxUploads)
        for upload in shown {
            xml.group("Upload") {
                $0.element("Key", upload.key)
                $0.element("UploadId", upload.uploadID)
                $0.element("StorageClass", "STANDARD")
                $0.element("Initiated", MetadataTime.format(upload.initiatedAt))
            }
        }
        return Self.xmlResponse(xml)
    }

    private func deleteObjects(
        _ bucket: String, _ request: S3Request, body: RequestBody, authentication: S3Authentication, logger: Logger
    ) async throws -> Response {
        try await objects.requireBucket(bucket)
        let document = try Self.parseXML(try await Self.smallBody(body, request, authentication: authentication))
        let quiet = document.child("Quiet")?.text.lowercased() == "true"
        let keys = document.children("Object").compactMap { $0.child("Key")?.text }
        guard keys.count <= 1000 else { throw S3Error.malformedXML("at most 1000 keys per request") }
        var xml = S3XMLWriter(root: "DeleteResult")
        for key in keys {
            do {
                try await objects.deleteObject(bucket: bucket, key: key, logger: logger)
                if !quiet { xml.group("Deleted") { $0.element("Key", key) } }
            } catch {
                let failure = Self.s3Error(for: error)
                xml.group("Error") {
                    $0.element("Key", key)
                    $0.element("Code", failure.code)
                    $0.element("Message", failure.message)
                }
            }
        }
        return Self.xmlResponse(xml)
    }

    // MARK: - objects

    private static let unsupportedObjectSubresources = [
        "acl", "tagging", "retention", "legal-hold", "torrent", "restore", "select", "attributes",
    ]

    private func handleObject(
        _ bucket: String, _ key: String, _ request: S3Request, body: RequestBody, authentication: S3Authentication,
        logger: Logger
    ) async throws -> Response {
        if let unsupported = Self.unsupportedObjectSubresources.first(where: request.has) {
            throw S3Error.notImplemented("The object sub-resource ?\(unsupported)")
        }
        // Buckets are unversioned: "null" names the only version there is, as in S3.
        if let version = request.query["versionId"], version != "null" {
            throw S3Error.invalidArgument("Invalid version id specified (buckets here are unversioned)")
        }
        switch request.method {
        case .put:
            if request.header("x-amz-copy-source") != nil {
                if let uploadID = request.query["uploadId"] {
                    return try await uploadPartCopy(uploadID, bucket, key, request, logger: logger)
                }
                return try await copyObject(bucket, key, request, logger: logger)
            }
            if let uploadID = request.query["uploadId"] {
                let number = try Self.partNumber(request.query["partNumber"])
                let upload = try await objects.upload(uploadID, bucket: bucket, key: key)
                let incoming = try Self.incomingBody(
                    body, request, authentication: authentication,
                    requiredChecksum: S3Objects.AnnouncedChecksum(upload)?.algorithm)
                let part = try await objects.uploadPart(of: upload, number: number, body: incoming, logger: logger)
                var headers: HTTPFields = [.eTag: part.etag]
                Self.addChecksums(part.checksums, to: &headers)
                return Response(status: .ok, headers: headers)
            }
            let stored = try await objects.putObject(
                bucket: bucket, key: key, body: try Self.incomingBody(body, request, authentication: authentication),
                contentType: Self.contentType(request),
                metadata: Self.storedMetadata(request), logger: logger)
            var headers: HTTPFields = [.eTag: stored.etag]
            Self.addChecksums(stored.checksums, to: &headers)
            return Response(status: .ok, headers: headers)
        case .get, .head:
            if request.method == .get, let uploadID = request.query["uploadId"] {
                return try await listParts(uploadID, bucket: bucket, key: key, request)
            }
            return try await getObject(bucket, key, request, logger: logger)
        case .delete:
            if let uploadID = request.query["uploadId"] {
                try await objects.abortMultipartUpload(uploadID, bucket: bucket, key: key, logger: logger)
            } else {
                try await objects.deleteObject(bucket: bucket, key: key, logger: logger)
            }
            return Response(status: .noContent)
        case .post:
            if request.has("uploads") {
                let checksum = try S3Objects.AnnouncedChecksum(
                    algorithm: request.header("x-amz-checksum-algorithm"), type: request.header("x-amz-checksum-type"))
                let uploadID = try await objects.createMultipartUpload(
                    bucket: bucket, key: key, contentType: Self.contentType(request), metadata: Self.storedMetadata(request),
                    checksum: checksum)
                var xml = S3XMLWriter(root: "InitiateMultipartUploadResult")
                xml.element("Bucket", bucket)
                xml.element("Key", key)
                xml.element("UploadId", uploadID)
                var response = Self.xmlResponse(xml)
                if let checksum {
                    response.headers[HTTPField.Name("x-amz-checksum-algorithm")!] = checksum.algorithm.rawValue
                    response.headers[HTTPField.Name("x-amz-checksum-type")!] = checksum.type.rawValue
                }
                return response
            }
            if let uploadID = request.query["uploadId"] {
                // Its x-amz-checksum-* headers are the whole object's (FULL_OBJECT), not the XML document's.
                let document = try Self.parseXML(
                    try await Self.smallBody(body, request, authentication: authentication, headerChecksumsAreTheBody: false))
                var parts: [S3Objects.CompletedPart] = []
                for part in document.children("Part") {
                    guard let number = part.child("PartNumber").flatMap({ Int($0.text) }), let etag = part.child("ETag")?.text
                    else { throw S3Error.malformedXML("every Part needs a PartNumber and an ETag") }
                    var checksums: [String: String] = [:]
                    for algorithm in S3ChecksumAlgorithm.allCases {
                        if let value = part.child("Checksum" + algorithm.rawValue)?.text { checksums[algorithm.rawValue] = value }
                    }
                    parts.append(.init(number: number, etag: etag, checksums: checksums))
                }
                let object = try await objects.completeMultipartUpload(
                    uploadID, bucket: bucket, key: key, parts: parts, claims: try Self.completionClaims(request),
                    logger: logger)
                var xml = S3XMLWriter(root: "CompleteMultipartUploadResult")
                xml.element("Location", "/\(bucket)/\(key)")
                xml.element("Bucket", bucket)
                xml.element("Key", key)
                xml.element("ETag", object.etag)
                xml.checksumElements(object.checksums, withType: true)
                return Self.xmlResponse(xml)
            }
            throw S3Error.methodNotAllowed("POST")
        default:
            throw S3Error.methodNotAllowed(request.method.rawValue)
        }
    }

    private func getObject(_ bucket: String, _ key: String, _ request: S3Request, logger: Logger) async throws -> Response {
        let stored = try await objects.object(bucket: bucket, key: key)
        let object = stored.object
        let part = try request.query["partNumber"].map { try Self.partSelection(of: stored, number: $0) }
        var headers = Self.objectHeaders(
            object, checksumMode: request.header("x-amz-checksum-mode") == "ENABLED" && part == nil)
        if let answer = try Self.conditionalAnswer(object, request) { return answer }
        var status = HTTPResponse.Status.ok
        var range: ByteRange?
        if let part {
            guard request.header("range") == nil else {
                throw S3Error.invalidRequest("Cannot specify both Range header and partNumber query parameter")
            }
            if case .bytes(let bytes) = part {
                range = bytes
                status = .partialContent
                headers[.contentRange] = bytes.contentRange(totalSize: object.sizeBytes)
            }
        } else if let header = request.header("range") {
            switch ByteRange.parse(header, size: object.sizeBytes) {
            case .whole: break
            case .partial(let partial):
                range = partial
                status = .partialContent
                headers[.contentRange] = partial.contentRange(totalSize: object.sizeBytes)
                // The stored checksums are of the whole object, not of the part served.
                for algorithm in S3ChecksumAlgorithm.allCases {
                    if let field = HTTPField.Name(algorithm.headerName) { headers[field] = nil }
                }
            case .unsatisfiable: throw S3Error.invalidRange(size: object.sizeBytes)
            }
        }
        headers[.contentLength] = String(range?.length ?? object.sizeBytes)
        if request.method == .head { return Response(status: status, headers: headers) }
        let bytes = try await objects.read(stored, range: range, logger: logger)
        return Response(status: status, headers: headers, body: ResponseBody(asyncSequence: bytes))
    }

    /// `?partNumber=`: 1 to 10,000.
    static func partNumber(_ text: String?) throws -> Int {
        guard let number = text.flatMap({ Int($0) }), S3Objects.partNumbers.contains(number) else {
            throw S3Error.invalidPartNumberArgument
        }
        return number
    }

    /// What `?partNumber=` selects: all of an object uploaded in one piece (its only part), or one part's bytes.
    enum PartSelection: Equatable {
        case wholeObject
        case bytes(ByteRange)
    }

    /// Part `text` (1-based, in the order the object was completed from) of an object.
    static func partSelection(of stored: S3StoredObject, number text: String) throws -> PartSelection {
        let number = try partNumber(text)
        let notSatisfiable = S3Error(
            "InvalidPartNumber", "The requested partnumber is not satisfiable", status: .rangeNotSatisfiable)
        guard stored.object.parts > 0 else {
            guard number == 1 else { throw notSatisfiable }
            return .wholeObject
        }
        guard stored.segments.indices.contains(number - 1), stored.segments[number - 1].sizeBytes > 0 else {
            throw notSatisfiable
        }
        let segment = stored.segments[number - 1]
        return .bytes(ByteRange(first: segment.offset, last: segment.offset + segment.sizeBytes - 1))
    }

    private func listParts(_ uploadID: String, bucket: String, key: String, _ request: S3Request) async throws -> Response {
        let upload = try await objects.upload(uploadID, bucket: bucket, key: key)
        let maxParts = min(Int(request.query["max-parts"] ?? "") ?? 1000, 1000)
        let marker = Int(request.query["part-number-marker"] ?? "") ?? 0
        let parts = try await objects.catalog.parts(of: uploadID, after: marker, limit: maxParts + 1)
        let shown = parts.prefix(maxParts)
        var xml = S3XMLWriter(root: "ListPartsResult")
        xml.element("Bucket", bucket)
        xml.element("Key", key)
        xml.element("UploadId", uploadID)
        xml.element("PartNumberMarker", marker)
        if let last = shown.last { xml.element("NextPartNumberMarker", last.partNumber) }
        xml.element("MaxParts", maxParts)
        xml.element("IsTruncated", parts.count > maxParts)
        xml.element("StorageClass", "STANDARD")
        if let checksum = S3Objects.AnnouncedChecksum(upload) {
            xml.element("ChecksumAlgorithm", checksum.algorithm.rawValue)
            xml.element("ChecksumType", checksum.type.rawValue)
        }
        for part in shown {
            xml.group("Part") {
                $0.element("PartNumber", part.partNumber)
                $0.element("LastModified", MetadataTime.format(part.uploadedAt))
                $0.element("ETag", part.etag)
                $0.element("Size", part.sizeBytes)
                $0.checksumElements(part.checksums)
            }
        }
        return Self.xmlResponse(xml)
    }

    /// The object `x-amz-copy-source` names (`bucket/key`, percent-encoded, an optional leading `/`), checked
    /// against the `x-amz-copy-source-if-…` conditions (match lists and dates).
    private func copySource(_ request: S3Request) async throws -> S3StoredObject {
        var sourceText = request.header("x-amz-copy-source")!
        if let query = sourceText.firstIndex(of: "?") {
            if sourceText[query...].contains("versionId=") { throw S3Error.notImplemented("Copying an object version") }
            sourceText = String(sourceText[..<query])
        }
        guard let decoded = S3PercentDecoding.decode(Substring(sourceText)) else {
            throw S3Error.invalidArgument("x-amz-copy-source is not valid percent-encoding")
        }
        let path = decoded.drop { $0 == "/" }
        guard let slash = path.firstIndex(of: "/"), path.index(after: slash) != path.endIndex else {
            throw S3Error.invalidArgument("x-amz-copy-source must be bucket/key")
        }
        let sourceBucket = String(path[..<slash])
        let sourceKey = String(path[path.index(after: slash)...])
        let source = try await objects.object(bucket: sourceBucket, key: sourceKey)
        // A copy has nothing to answer 304 with: every failed condition is a 412.
        if Self.evaluateConditions(source.object, request, headerPrefix: "x-amz-copy-source-") != .proceed {
            throw S3Error.preconditionFailed
        }
        return source
    }

    /// UploadPartCopy: a part made of (a range of) a stored object's bytes, read through the verified download path
    /// and stored again as the part's own file.
    private func uploadPartCopy(
        _ uploadID: String, _ bucket: String, _ key: String, _ request: S3Request, logger: Logger
    ) async throws -> Response {
        let number = try Self.partNumber(request.query["partNumber"])
        let upload = try await objects.upload(uploadID, bucket: bucket, key: key)
        let source = try await copySource(request)
        let size = source.object.sizeBytes
        var range: ByteRange?
        if let text = request.header("x-amz-copy-source-range") {
            let bounds = text.hasPrefix("bytes=") ? text.dropFirst(6).split(separator: "-", omittingEmptySubsequences: false) : []
            guard bounds.count == 2, let first = Int64(bounds[0]), let last = Int64(bounds[1]), first <= last, last < size
            else {
                throw S3Error.invalidArgument("Range specified is not valid for source object of size: \(size)")
            }
            range = ByteRange(first: first, last: last)
        }
        let bytes = try await objects.read(source, range: range, logger: logger)
        let part = try await objects.uploadPart(
            of: upload, number: number,
            body: S3IncomingBody(
                base: bytes,
                expectations: .init(
                    copiedLength: range?.length ?? size, computing: S3Objects.AnnouncedChecksum(upload)?.algorithm),
                authentication: nil, receipt: S3BodyReceipt()),
            logger: logger)
        var xml = S3XMLWriter(root: "CopyPartResult")
        xml.element("LastModified", MetadataTime.format(part.uploadedAt))
        xml.element("ETag", part.etag)
        xml.checksumElements(part.checksums)
        return Self.xmlResponse(xml)
    }

    private func copyObject(_ bucket: String, _ key: String, _ request: S3Request, logger: Logger) async throws -> Response {
        let source = try await copySource(request)
        try await objects.requireBucket(bucket)
        let directive = request.header("x-amz-metadata-directive") ?? "COPY"
        guard directive == "COPY" || directive == "REPLACE" else {
            throw S3Error.invalidArgument("Unknown metadata directive \(directive)")
        }
        if directive == "COPY", source.object.bucket == bucket, source.object.key == key {
            throw S3Error.invalidRequest(
                "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata."
            )
        }
        let contentType = directive == "REPLACE" ? Self.contentType(request) : source.object.contentType
        let metadata = directive == "REPLACE" ? Self.storedMetadata(request) : source.object.metadata
        // The bytes are read and stored again (verified on the way like any upload): objects never share files, so
        // deleting one can never take another's bytes.
        let bytes = try await objects.read(source, range: nil, logger: logger)
        let copy = try await objects.putObject(
            bucket: bucket, key: key,
            body: S3IncomingBody(
                base: bytes,
                expectations: .init(copyOf: source.object),
                authentication: nil, receipt: S3BodyReceipt()),
            contentType: contentType, metadata: metadata, logger: logger)
        var xml = S3XMLWriter(root: "CopyObjectResult")
        xml.element("LastModified", MetadataTime.format(copy.lastModified))
        xml.element("ETag", copy.etag)
        return Self.xmlResponse(xml)
    }

    // MARK: - helpers

    /// The answer to `If-Match`, `If-None-Match`, `If-Modified-Since` and `If-Unmodified-Since` when one of them
    /// decides it (304 or 412); nil when the object is to be served.
    static func conditionalAnswer(_ object: S3ObjectRecord, _ request: S3Request) throws -> Response? {
        switch evaluateConditions(object, request, headerPrefix: "") {
        case .proceed: return nil
        case .preconditionFailed: throw S3Error.preconditionFailed
        case .notModified:
            // A 304 carries the validators only (no checksums, no body), as S3's does.
            return Response(
                status: .notModified, headers: [.eTag: object.etag, .lastModified: S3HTTPDate.format(object.lastModified)])
        }
    }

    enum ConditionOutcome { case proceed, notModified, preconditionFailed }

    /// S3's rules for the four conditions, with their names after `headerPrefix` (`x-amz-copy-source-` for a copy's
    /// source): a match list decides instead of its date (`if-match` over `if-unmodified-since`, `if-none-match` over
    /// `if-modified-since`), dates compare in whole seconds, and a date that does not parse is ignored.
    static func evaluateConditions(_ object: S3ObjectRecord, _ request: S3Request, headerPrefix: String) -> ConditionOutcome {
        func header(_ name: String) -> String? { request.header(headerPrefix + name) }
        let modified = object.lastModified.timeIntervalSince1970.rounded(.down)
        if let ifMatch = header("if-match") {
            if !etagList(ifMatch, matches: object) { return .preconditionFailed }
        } else if let since = header("if-unmodified-since").flatMap(S3HTTPDate.parse), modified > since.timeIntervalSince1970 {
            return .preconditionFailed
        }
        if let ifNoneMatch = header("if-none-match") {
            if etagList(ifNoneMatch, matches: object) { return .notModified }
        } else if let since = header("if-modified-since").flatMap(S3HTTPDate.parse), modified <= since.timeIntervalSince1970 {
            return .notModified
        }
        return .proceed
    }

    /// Whether an `If-Match`-style list (`"etag", "etag"` or `*`) names the object.
    static func etagList(_ list: String, matches object: S3ObjectRecord) -> Bool {
        list.split(separator: ",").contains { candidate in
            let trimmed = candidate.trimmingCharacters(in: .whitespaces)
            return trimmed == "*" || S3Objects.sameETag(trimmed, object.etag)
        }
    }

    static func objectHeaders(_ object: S3ObjectRecord, checksumMode: Bool) -> HTTPFields {
        var headers: HTTPFields = [
            .eTag: object.etag, .contentType: object.contentType, .acceptRanges: "bytes",
            .lastModified: S3HTTPDate.format(object.lastModified),
        ]
        for (name, value) in object.metadata.sorted(by: { $0.key < $1.key }) {
            if let field = HTTPField.Name(name) { headers[field] = value }
        }
        if object.parts > 0 { headers[HTTPField.Name("x-amz-mp-parts-count")!] = String(object.parts) }
        if checksumMode { addChecksums(object.checksums, to: &headers) }
        return headers
    }

    static func addChecksums(_ checksums: [String: String], to headers: inout HTTPFields) {
        for (algorithm, value) in checksums {
            if let algorithm = S3ChecksumAlgorithm(rawValue: algorithm), let field = HTTPField.Name(algorithm.headerName) {
                headers[field] = value
                headers[HTTPField.Name("x-amz-checksum-type")!] = S3ChecksumType(ofValue: value).rawValue
            }
        }
    }

    /// What a CompleteMultipartUpload's headers claim about the whole object.
    static func completionClaims(_ request: S3Request) throws -> S3Objects.CompletionClaims {
        var claims = S3Objects.CompletionClaims()
        for algorithm in S3ChecksumAlgorithm.allCases {
            if let value = request.header(algorithm.headerName) { claims.checksums[algorithm.rawValue] = value }
        }
        claims.checksumType = request.header("x-amz-checksum-type")
        if let size = request.header("x-amz-mp-object-size") {
            guard let bytes = Int64(size), bytes >= 0 else {
                throw S3Error.invalidArgument("x-amz-mp-object-size must be a number of bytes")
            }
            claims.objectSize = bytes
        }
        return claims
    }

    static func contentType(_ request: S3Request) -> String {
        request.header("content-type") ?? "binary/octet-stream"
    }

    /// The headers an object keeps and returns: `x-amz-meta-*` and the standard representation headers.
    static func storedMetadata(_ request: S3Request) -> [String: String] {
        var metadata: [String: String] = [:]
        for field in request.headers {
            let name = field.name.canonicalName
            if name.hasPrefix("x-amz-meta-")
                || ["cache-control", "content-disposition", "content-language", "expires"].contains(name)
            {
                metadata[name] = field.value
            } else if name == "content-encoding" {
                // aws-chunked is framing of this request, not how the object is encoded.
                let kept = field.value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter {
                    $0 != "aws-chunked"
                }
                if !kept.isEmpty { metadata[name] = kept.joined(separator: ",") }
            }
        }
        return metadata
    }

    static func incomingBody(
        _ body: RequestBody, _ request: S3Request, authentication: S3Authentication,
        requiredChecksum: S3ChecksumAlgorithm? = nil
    ) throws -> S3IncomingBody<RequestBody> {
        S3IncomingBody(
            base: body,
            expectations: try S3BodyExpectations(request, mode: authentication.payload, required: requiredChecksum),
            authentication: authentication, receipt: S3BodyReceipt())
    }

    /// A request body S3 defines as a small XML document, read whole (at most 1 MiB) and checked like any body.
    static func smallBody(
        _ body: RequestBody, _ request: S3Request, authentication: S3Authentication, headerChecksumsAreTheBody: Bool = true
    ) async throws -> [UInt8] {
        var incoming = try incomingBody(body, request, authentication: authentication)
        if !headerChecksumsAreTheBody { incoming.expectations.dropHeaderChecksums() }
        var bytes: [UInt8] = []
        var hasher = StreamingSHA256()
        for try await chunk in incoming {
            bytes += chunk.readableBytesView
            hasher.update(chunk)
            guard bytes.count <= 1 << 20 else { throw S3Error.malformedXML("the document is larger than 1 MiB") }
        }
        if let expected = incoming.expectations.payloadSHA256, hasher.finalize() != expected {
            throw S3Error(
                "XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does not match what was computed.",
                status: .badRequest)
        }
        return bytes
    }

    static func parseXML(_ bytes: [UInt8]) throws -> S3XMLElement {
        do {
            return try S3XMLElement.parse(bytes)
        } catch let error as S3XMLElement.ParseError {
            throw S3Error.malformedXML(error.description)
        }
    }

    static func xmlResponse(_ xml: S3XMLWriter) -> Response {
        xmlResponse(xml.finish())
    }

    static func xmlResponse(_ text: String) -> Response {
        Response(
            status: .ok, headers: [.contentType: "application/xml"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}

extension S3XMLWriter {
    /// The document with `text` as the root's content (`<LocationConstraint>eu-west-1</LocationConstraint>`).
    func finishing(text: String) -> String {
        let document = finish()
        guard let close = document.range(of: "</", options: .backwards) else { return document }
        return document[..<close.lowerBound] + S3XMLWriter.escape(text) + document[close.lowerBound...]
    }
}
