/// A refused S3 request, with the S3 error code and HTTP status clients expect. Messages never hold a secret.
public struct S3AuthError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The S3 error code, such as `SignatureDoesNotMatch`.
    public var code: String
    public var message: String
    public var httpStatus: Int

    public init(code: String, message: String, httpStatus: Int) {
        self.code = code
        self.message = message
        self.httpStatus = httpStatus
    }

    public var description: String { "\(code) (\(httpStatus)): \(message)" }

    public static func accessDenied(_ message: String) -> S3AuthError {
        S3AuthError(code: "AccessDenied", message: message, httpStatus: 403)
    }

    /// A request that carries no signature at all.
    public static func anonymous() -> S3AuthError {
        accessDenied("Access Denied: anonymous access is not allowed; sign the request with AWS Signature Version 4")
    }

    /// A presigned URL used after its `X-Amz-Expires` ran out.
    public static func requestExpired() -> S3AuthError {
        accessDenied("Request has expired")
    }

    /// A read-only key used for a request that writes; the caller decides which requests write.
    public static func readOnlyKey() -> S3AuthError {
        accessDenied("Access Denied: this access key is read-only")
    }

    public static func invalidAccessKeyId() -> S3AuthError {
        S3AuthError(
            code: "InvalidAccessKeyId", message: "The AWS Access Key Id you provided does not exist in our records.",
            httpStatus: 403)
    }

    public static func signatureDoesNotMatch(_ message: String? = nil) -> S3AuthError {
        S3AuthError(
            code: "SignatureDoesNotMatch",
            message: message
                ?? "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
            httpStatus: 403)
    }

    public static func authorizationHeaderMalformed(_ message: String) -> S3AuthError {
        S3AuthError(
            code: "AuthorizationHeaderMalformed", message: "The authorization header is malformed; \(message)",
            httpStatus: 400)
    }

    public static func authorizationQueryParametersError(_ message: String) -> S3AuthError {
        S3AuthError(code: "AuthorizationQueryParametersError", message: message, httpStatus: 400)
    }

    public static func requestTimeTooSkewed() -> S3AuthError {
        S3AuthError(
            code: "RequestTimeTooSkewed",
            message: "The difference between the request time and the server's time is too large.", httpStatus: 403)
    }

    public static func xAmzContentSHA256Mismatch() -> S3AuthError {
        S3AuthError(
            code: "XAmzContentSHA256Mismatch",
            message: "The provided 'x-amz-content-sha256' header does not match what was computed.", httpStatus: 400)
    }

    public static func invalidRequest(_ message: String) -> S3AuthError {
        S3AuthError(code: "InvalidRequest", message: message, httpStatus: 400)
    }

    public static func incompleteBody(_ message: String) -> S3AuthError {
        S3AuthError(code: "IncompleteBody", message: message, httpStatus: 400)
    }

    public static func badDigest(_ message: String) -> S3AuthError {
        S3AuthError(code: "BadDigest", message: message, httpStatus: 400)
    }

    public static func invalidArgument(_ message: String) -> S3AuthError {
        S3AuthError(code: "InvalidArgument", message: message, httpStatus: 400)
    }

    public static func missingSecurityHeader(_ message: String) -> S3AuthError {
        S3AuthError(code: "MissingSecurityHeader", message: message, httpStatus: 400)
    }
}
