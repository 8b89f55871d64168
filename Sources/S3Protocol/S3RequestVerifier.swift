import Crypto
import Foundation

/// Checks the signature of an S3 request against a fixed set of keys, at the time `now` says: AWS Signature Version 4
/// (an `Authorization` header or a presigned URL), and Version 2 (`AWS key:signature`, or `AWSAccessKeyId`,
/// `Expires` and `Signature` in the URL: what boto3 presigns with in us-east-1 unless told `s3v4`).
public struct S3RequestVerifier: Sendable {
    public let region: String
    public let clockSkewLimit: Duration
    private let credentialsByKeyID: [String: S3Credential]
    let now: @Sendable () -> Date
    private let signingKeys = SigningKeyCache()

    /// The longest `X-Amz-Expires` S3 accepts: seven days.
    static let maximumPresignedLifetimeSeconds = 604_800

    /// - Parameters:
    ///   - clockSkewLimit: how far a signed request's time may be from `now`, either way.
    ///   - now: the current time; injected so that tests control it.
    public init(
        region: String, credentials: [S3Credential], clockSkewLimit: Duration = .seconds(900),
        now: @escaping @Sendable () -> Date
    ) {
        self.region = region
        self.clockSkewLimit = clockSkewLimit
        self.credentialsByKeyID = Dictionary(credentials.map { ($0.accessKeyID, $0) }, uniquingKeysWith: { first, _ in first })
        self.now = now
    }

    /// Who signed `request`, and how its body is covered.
    /// - Throws: `S3AuthError` with the code S3 would answer (`AccessDenied` for an unsigned request,
    ///   `SignatureDoesNotMatch`, `InvalidAccessKeyId`, `RequestTimeTooSkewed`, …).
    public func authenticate(_ request: S3SignedRequest) throws -> S3Authentication {
        if let authorization = request.firstValue(of: "authorization") {
            if authorization == SigV4Canonical.algorithm || authorization.hasPrefix(SigV4Canonical.algorithm + " ") {
                return try authenticateHeader(authorization, request: request)
            }
            if authorization.hasPrefix("AWS ") { return try authenticateSignatureVersion2(authorization, request: request) }
            throw S3AuthError.invalidArgument("Unsupported Authorization Type")
        }
        let query = SigV4Canonical.queryParameters(rawQuery: request.rawQuery)
        let queryNames = Set(query.map(\.name))
        if !queryNames.isDisjoint(with: ["X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature"]) {
            return try authenticatePresigned(request, query: query)
        }
        if queryNames.contains("AWSAccessKeyId") { return try authenticatePresignedVersion2(request, query: query) }
        throw S3AuthError.anonymous()
    }

    // MARK: - Authorization header

    private func authenticateHeader(_ authorization: String, request: S3SignedRequest) throws -> S3Authentication {
        let malformed = S3AuthError.authorizationHeaderMalformed
        var fields: [Substring: Substring] = [:]
        for component in authorization.dropFirst(SigV4Canonical.algorithm.count).split(separator: ",") {
            let field = component.trimmingWhitespace()
            guard let equals = field.firstIndex(of: "=") else {
                throw malformed("'\(field)' is not of the form Name=value")
            }
            fields[field[..<equals]] = field[field.index(after: equals)...]
        }
        guard let credentialText = fields["Credential"] else { throw malformed("it lacks Credential=") }
        guard let signedHeadersText = fields["SignedHeaders"] else { throw malformed("it lacks SignedHeaders=") }
        guard let signature = fields["Signature"] else { throw malformed("it lacks Signature=") }

        let scope = try CredentialScope(parsing: credentialText, region: region, fail: malformed)
        let signedHeaders = try Self.signedHeaderNames(signedHeadersText, fail: malformed)

        guard let contentSHA256 = request.firstValue(of: "x-amz-content-sha256")?.trimmingWhitespace() else {
            throw S3AuthError.invalidRequest("Missing required header for this request: x-amz-content-sha256")
        }
        guard let payload = S3PayloadMode(contentSHA256: String(contentSHA256)) else {
            throw S3AuthError.invalidArgument(
                "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, "
                    + "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, STREAMING-UNSIGNED-PAYLOAD-TRAILER or a hex SHA-256")
        }
        let signedSet = Set(signedHeaders)
        let unsignedAmzHeaders = Set(
            request.headers.map { $0.name.lowercased() }.filter {
                $0.hasPrefix("x-amz-") && $0 != "x-amz-content-sha256" && !signedSet.contains($0)
            })
        if !unsignedAmzHeaders.isEmpty {
            throw S3AuthError.accessDenied(
                "There were headers present in the request which were not signed: "
                    + unsignedAmzHeaders.sorted().joined(separator: ", "))
        }

        let timestamp = try Self.requestTime(request)
        guard scope.dateStamp == timestamp.dateStamp else {
            throw malformed(
                "the credential date '\(scope.dateStamp)' is not the date of the request time '\(timestamp.basic)'")
        }
        let credential = try credential(for: scope)
        guard abs(now().timeIntervalSince(timestamp.date)) <= timeInterval(clockSkewLimit) else {
            throw S3AuthError.requestTimeTooSkewed()
        }
        return try verifySignature(
            request, canonicalQuery: SigV4Canonical.canonicalQuery(rawQuery: request.rawQuery),
            signedHeaders: signedHeaders, payloadHash: String(contentSHA256), payload: payload, timestamp: timestamp,
            credential: credential, providedSignature: signature, fail: malformed)
    }

    /// The request time from `x-amz-date`, or from `Date` when a client sends only that.
    private static func requestTime(_ request: S3SignedRequest) throws -> AmzTimestamp {
        let invalid = S3AuthError.accessDenied("AWS authentication requires a valid Date or x-amz-date header")
        if let amzDate = request.firstValue(of: "x-amz-date") {
            guard let timestamp = AmzTimestamp(basic: String(amzDate.trimmingWhitespace())) else { throw invalid }
            return timestamp
        }
        if let date = request.firstValue(of: "date") {
            guard let timestamp = AmzTimestamp(httpDate: String(date.trimmingWhitespace())) else { throw invalid }
            return timestamp
        }
        throw invalid
    }

    // MARK: - Presigned URL

    private func authenticatePresigned(
        _ request: S3SignedRequest, query: [(name: String, value: String)]
    ) throws -> S3Authentication {
        let queryError = S3AuthError.authorizationQueryParametersError
        func parameter(_ name: String) -> String? { query.first { $0.name == name }?.value }
        guard let algorithm = parameter("X-Amz-Algorithm"), let credentialText = parameter("X-Amz-Credential"),
            let amzDate = parameter("X-Amz-Date"), let expiresText = parameter("X-Amz-Expires"),
            let signedHeadersText = parameter("X-Amz-SignedHeaders"), let signature = parameter("X-Amz-Signature")
        else {
            throw queryError(
                "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, "
                    + "X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.")
        }
        guard algorithm == SigV4Canonical.algorithm else {
            throw queryError("X-Amz-Algorithm only supports \"\(SigV4Canonical.algorithm)\"")
        }
        guard let timestamp = AmzTimestamp(basic: amzDate) else {
            throw queryError("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"")
        }
        guard let expires = Int(expiresText), expires >= 1 else {
            throw queryError("X-Amz-Expires must be a whole number of seconds, at least 1")
        }
        guard expires <= Self.maximumPresignedLifetimeSeconds else {
            throw queryError(
                "X-Amz-Expires must be less than a week (in seconds) that is \(Self.maximumPresignedLifetimeSeconds)")
        }
        let fail: (String) -> S3AuthError = { queryError("Error parsing the X-Amz-Credential parameter; \($0)") }
        let scope = try CredentialScope(parsing: Substring(credentialText), region: region, fail: fail)
        guard scope.dateStamp == timestamp.dateStamp else {
            throw queryError("the credential date '\(scope.dateStamp)' is not the date of X-Amz-Date '\(amzDate)'")
        }
        let signedHeaders = try Self.signedHeaderNames(Substring(signedHeadersText)) {
            queryError("Error parsing the X-Amz-SignedHeaders parameter; \($0)")
        }
        let credential = try credential(for: scope)
        let current = now()
        if timestamp.date.timeIntervalSince(current) > timeInterval(clockSkewLimit) {
            throw S3AuthError.accessDenied("Request is not valid yet")
        }
        if current.timeIntervalSince(timestamp.date) > TimeInterval(expires) {
            throw S3AuthError.requestExpired()
        }
        return try verifySignature(
            request,
            canonicalQuery: SigV4Canonical.canonicalQuery(rawQuery: request.rawQuery, excluding: "X-Amz-Signature"),
            signedHeaders: signedHeaders, payloadHash: "UNSIGNED-PAYLOAD", payload: .unsigned, timestamp: timestamp,
            credential: credential, providedSignature: Substring(signature), fail: queryError)
    }

    // MARK: - Shared steps

    private func credential(for scope: CredentialScope) throws -> S3Credential {
        try credential(accessKeyID: String(scope.accessKeyID))
    }

    /// The key `accessKeyID` names, for either signature version.
    func credential(accessKeyID: String) throws -> S3Credential {
        guard let credential = credentialsByKeyID[accessKeyID] else { throw S3AuthError.invalidAccessKeyId() }
        return credential
    }

    private static func signedHeaderNames(
        _ text: Substring, fail: (String) -> S3AuthError
    ) throws -> [String] {
        let names = text.split(separator: ";", omittingEmptySubsequences: false).map { $0.lowercased() }
        guard !names.isEmpty, names.allSatisfy({ !$0.isEmpty }) else {
            throw fail("SignedHeaders must be header names separated by ';'")
        }
        guard names.contains("host") else { throw fail("SignedHeaders must include host") }
        return names
    }

    private func verifySignature(
        _ request: S3SignedRequest, canonicalQuery: String, signedHeaders: [String], payloadHash: String,
        payload: S3PayloadMode, timestamp: AmzTimestamp, credential: S3Credential, providedSignature: Substring,
        fail: (String) -> S3AuthError
    ) throws -> S3Authentication {
        let canonicalHeaders: String
        switch SigV4Canonical.canonicalHeaders(signedHeaders: signedHeaders, headers: request.headers) {
        case .success(let block): canonicalHeaders = block
        case .failure(let missing): throw fail("the signed header '\(missing.name)' is not in the request")
        }
        let canonicalRequest = SigV4Canonical.canonicalRequest(
            method: request.method, canonicalURI: SigV4Canonical.canonicalURI(rawPath: request.rawPath),
            canonicalQuery: canonicalQuery, canonicalHeaders: canonicalHeaders, signedHeaders: signedHeaders,
            payloadHash: payloadHash)
        let scope = SigV4Canonical.scope(dateStamp: timestamp.dateStamp, region: region)
        let stringToSign = SigV4Canonical.stringToSign(
            amzDate: timestamp.basic, scope: scope, canonicalRequest: canonicalRequest)
        let key = signingKeys.key(for: credential, dateStamp: timestamp.dateStamp, region: region)
        let expected = SigV4Canonical.signature(stringToSign, key: key)
        guard SigV4Canonical.constantTimeEquals(expected, providedSignature.lowercased()) else {
            throw S3AuthError.signatureDoesNotMatch()
        }
        return S3Authentication(
            credential: credential, payload: payload, signingKey: key, amzDate: timestamp.basic, scope: scope,
            seedSignature: expected)
    }
}

/// `AKID/yyyyMMdd/region/s3/aws4_request`, checked against this server's region.
private struct CredentialScope {
    let accessKeyID: Substring
    let dateStamp: Substring

    init(parsing text: Substring, region: String, fail: (String) -> S3AuthError) throws {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count >= 5, !parts[0].isEmpty else {
            throw fail("the Credential is mal-formed; expecting \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\"")
        }
        // The last four parts are the scope; an access key id never holds '/', but splitting from the end is safe.
        let tail = parts.suffix(4)
        let date = tail[tail.startIndex]
        let requestRegion = tail[tail.startIndex + 1]
        let service = tail[tail.startIndex + 2]
        let terminator = tail[tail.startIndex + 3]
        guard date.count == 8, date.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
            throw fail("the credential date '\(date)' is not of the form YYYYMMDD")
        }
        guard requestRegion == region else { throw fail("the region '\(requestRegion)' is wrong; expecting '\(region)'") }
        guard service == SigV4Canonical.service else {
            throw fail("incorrect service '\(service)'; this endpoint expects 's3'")
        }
        guard terminator == SigV4Canonical.terminator else {
            throw fail("incorrect terminal '\(terminator)'; this endpoint uses 'aws4_request'")
        }
        self.accessKeyID = text[text.startIndex..<parts[parts.count - 5].endIndex]
        self.dateStamp = date
    }
}

func timeInterval(_ duration: Duration) -> TimeInterval {
    let parts = duration.components
    return TimeInterval(parts.seconds) + TimeInterval(parts.attoseconds) / 1e18
}
