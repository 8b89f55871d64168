import HTTPTypes
import S3Protocol

/// An S3 error answer (`<Error><Code>…`): the codes the SDKs and CLIs recognise, with S3's statuses.
struct S3Error: Error, Sendable, Equatable, CustomStringConvertible {
    var code: String
    var message: String
    var status: HTTPResponse.Status
    /// What the error is about (`/bucket/key`), echoed as `<Resource>`.
    var resource: String?

    init(_ code: String, _ message: String, status: HTTPResponse.Status, resource: String? = nil) {
        self.code = code
        self.message = message
        self.status = status
        self.resource = resource
    }

    init(_ error: S3AuthError) {
        self.init(error.code, error.message, status: HTTPResponse.Status(code: error.httpStatus))
    }

    var description: String { "\(code): \(message)" }

    static func noSuchBucket(_ bucket: String) -> S3Error {
        S3Error("NoSuchBucket", "The specified bucket does not exist.", status: .notFound, resource: "/\(bucket)")
    }
    static func noSuchKey(_ bucket: String, _ key: String) -> S3Error {
        S3Error("NoSuchKey", "The specified key does not exist.", status: .notFound, resource: "/\(bucket)/\(key)")
    }
    static func noSuchUpload(_ uploadID: String) -> S3Error {
        S3Error(
            "NoSuchUpload", "The specified multipart upload does not exist (completed, aborted or expired).",
            status: .notFound, resource: uploadID)
    }
    static func bucketAlreadyOwnedByYou(_ bucket: String) -> S3Error {
        S3Error(
            "BucketAlreadyOwnedByYou", "Your previous request to create the named bucket succeeded.", status: .conflict,
            resource: "/\(bucket)")
    }
    static func bucketNotEmpty(_ bucket: String) -> S3Error {
        S3Error("BucketNotEmpty", "The bucket you tried to delete is not empty.", status: .conflict, resource: "/\(bucket)")
    }
    static func invalidBucketName(_ bucket: String) -> S3Error {
        S3Error(
            "InvalidBucketName",
            "Bucket names are 3-63 characters of lower-case letters, digits, '.' and '-', starting and ending with a letter or digit.",
            status: .badRequest, resource: "/\(bucket)")
    }
    static func notImplemented(_ what: String) -> S3Error {
        S3Error("NotImplemented", "\(what) is not implemented by SwiftDFS.", status: .notImplemented)
    }
    static func invalidArgument(_ message: String) -> S3Error { S3Error("InvalidArgument", message, status: .badRequest) }
    static let invalidPartNumberArgument = invalidArgument("Part number must be an integer between 1 and 10000, inclusive.")
    static func invalidRequest(_ message: String) -> S3Error { S3Error("InvalidRequest", message, status: .badRequest) }
    static func malformedXML(_ message: String) -> S3Error {
        S3Error("MalformedXML", "The XML you provided was not well-formed or did not validate: \(message)", status: .badRequest)
    }
    static func badDigest(_ message: String) -> S3Error { S3Error("BadDigest", message, status: .badRequest) }
    static func invalidRange(size: Int64) -> S3Error {
        S3Error(
            "InvalidRange", "The requested range is not satisfiable (the object holds \(size) bytes).",
            status: .rangeNotSatisfiable)
    }
    static let preconditionFailed = S3Error(
        "PreconditionFailed", "At least one of the preconditions you specified did not hold.", status: .preconditionFailed)
    static func keyTooLong() -> S3Error {
        S3Error("KeyTooLongError", "Your key is too long (at most 1024 bytes of UTF-8).", status: .badRequest)
    }
    static func entityTooSmall(part: Int) -> S3Error {
        S3Error(
            "EntityTooSmall", "Part \(part) is smaller than the minimum of 5 MiB allowed for every part but the last.",
            status: .badRequest)
    }
    static func invalidPart(_ message: String) -> S3Error { S3Error("InvalidPart", message, status: .badRequest) }
    static let invalidPartOrder = S3Error(
        "InvalidPartOrder", "The list of parts was not in ascending order of part number.", status: .badRequest)
    static func entityTooLarge(limit: Int64) -> S3Error {
        S3Error("EntityTooLarge", "Your proposed upload exceeds the maximum allowed size (\(limit) bytes).", status: .badRequest)
    }
    static func serviceUnavailable(_ message: String) -> S3Error {
        S3Error("ServiceUnavailable", message, status: .serviceUnavailable)
    }
    static func methodNotAllowed(_ method: String) -> S3Error {
        S3Error("MethodNotAllowed", "The method \(method) is not allowed against this resource.", status: .methodNotAllowed)
    }

    /// The answer's body.
    func xml(requestID: String) -> String {
        var document = S3XMLWriter(root: "Error", namespace: nil)
        document.element("Code", code)
        document.element("Message", message)
        if let resource { document.element("Resource", resource) }
        document.element("RequestId", requestID)
        return document.finish()
    }
}
