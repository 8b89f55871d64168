import Crypto
import Foundation

/// AWS Signature Version 2: the base64 HMAC-SHA1 of the verb, `Content-MD5`, `Content-Type`, the date (or a presigned
/// URL's `Expires`), the `x-amz-*` headers and the resource with its signed sub-resources. It signs no body, so a
/// request signed this way may not send an `aws-chunked` one; a hex `x-amz-content-sha256` is still verified.
extension S3RequestVerifier {
    /// The query parameters Version 2 signs as part of the resource (AWS's list, as botocore's `HmacV1Auth` has it);
    /// any other parameter is left out of the string to sign.
    static let signedSubresources: Set<Substring> = [
        "accelerate", "acl", "analytics", "cors", "defaultObjectAcl", "delete", "inventory", "lifecycle", "location",
        "logging", "metrics", "notification", "object-lock", "partNumber", "policy", "replication", "requestPayment",
        "response-cache-control", "response-content-disposition", "response-content-encoding",
        "response-content-language", "response-content-type", "response-expires", "restore", "select", "select-type",
        "storageClass", "tagging", "torrent", "uploadId", "uploads", "versionId", "versioning", "versions", "website",
    ]

    /// `Authorization: AWS <access key id>:<signature>`, dated by `x-amz-date` or `Date` (15 minutes either way).
    func authenticateSignatureVersion2(_ authorization: String, request: S3SignedRequest) throws -> S3Authentication {
        let fields = authorization.dropFirst("AWS ".count)
        guard let colon = fields.lastIndex(of: ":"), colon != fields.startIndex else {
            throw S3AuthError.invalidArgument("AWS authorization header is invalid.  Expected AwsAccessKeyId:signature")
        }
        let credential = try credential(accessKeyID: String(fields[..<colon]))
        // With `x-amz-date` (signed among the x-amz-* headers) the date line of the string to sign is empty.
        let amzDate = request.firstValue(of: "x-amz-date")
        guard let dateText = amzDate ?? request.firstValue(of: "date"),
            let time = AmzTimestamp(httpDate: String(dateText.trimmingWhitespace()))
        else {
            throw S3AuthError.accessDenied("AWS authentication requires a valid Date or x-amz-date header")
        }
        guard abs(now().timeIntervalSince(time.date)) <= timeInterval(clockSkewLimit) else {
            throw S3AuthError.requestTimeTooSkewed()
        }
        let payload = try Self.payloadVersion2(request)
        let stringToSign = Self.stringToSignVersion2(
            request, dateLine: amzDate == nil ? String(dateText.trimmingWhitespace()) : "", query: [])
        try Self.checkSignatureVersion2(
            String(fields[fields.index(after: colon)...]), of: stringToSign, secret: credential.secretAccessKey)
        return S3Authentication(signatureVersion2: credential, payload: payload)
    }

    /// `?AWSAccessKeyId=…&Expires=<unix seconds>&Signature=…`: valid until `Expires`.
    func authenticatePresignedVersion2(
        _ request: S3SignedRequest, query: [(name: String, value: String)]
    ) throws -> S3Authentication {
        func parameter(_ name: String) -> String? { query.first { $0.name == name }?.value }
        guard let keyID = parameter("AWSAccessKeyId"), let expiresText = parameter("Expires"),
            let signature = parameter("Signature")
        else {
            throw S3AuthError.accessDenied(
                "Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters")
        }
        guard let expires = Int64(expiresText) else {
            throw S3AuthError.accessDenied("Expires must be a whole number of seconds since 1970-01-01 UTC")
        }
        let credential = try credential(accessKeyID: keyID)
        guard now().timeIntervalSince1970 <= TimeInterval(expires) else { throw S3AuthError.requestExpired() }
        let payload = try Self.payloadVersion2(request)
        let stringToSign = Self.stringToSignVersion2(request, dateLine: expiresText, query: query)
        try Self.checkSignatureVersion2(signature, of: stringToSign, secret: credential.secretAccessKey)
        return S3Authentication(signatureVersion2: credential, payload: payload)
    }

    /// What covers the body: nothing beyond `Content-MD5` (checked by the caller), or a hex `x-amz-content-sha256`.
    private static func payloadVersion2(_ request: S3SignedRequest) throws -> S3PayloadMode {
        guard let value = request.firstValue(of: "x-amz-content-sha256")?.trimmingWhitespace() else { return .unsigned }
        guard let mode = S3PayloadMode(contentSHA256: String(value)), !mode.isChunked else {
            throw S3AuthError.invalidRequest(
                "x-amz-content-sha256 '\(value)' needs AWS Signature Version 4; Version 2 signs no aws-chunked body")
        }
        return mode
    }

    /// The string Version 2 signs. A presigned URL's `x-amz-*`, `Content-Type` and `Content-MD5` may ride in its
    /// query (botocore puts them there): they count as headers when the request does not send them.
    static func stringToSignVersion2(
        _ request: S3SignedRequest, dateLine: String, query: [(name: String, value: String)]
    ) -> String {
        func standard(_ name: String) -> String {
            let value = request.firstValue(of: name) ?? query.first { $0.name.lowercased() == name }?.value ?? ""
            return String(value.trimmingWhitespace())
        }
        var amzHeaders: [String: [String]] = [:]
        for header in request.headers where header.name.lowercased().hasPrefix("x-amz-") {
            amzHeaders[header.name.lowercased(), default: []].append(String(header.value.trimmingWhitespace()))
        }
        for parameter in query where parameter.name.lowercased().hasPrefix("x-amz-") {
            let name = parameter.name.lowercased()
            if request.firstValue(of: name) == nil { amzHeaders[name, default: []].append(parameter.value) }
        }
        var lines = [request.method.uppercased(), standard("content-md5"), standard("content-type"), dateLine]
        lines += amzHeaders.keys.sorted().map { "\($0):\(amzHeaders[$0]!.joined(separator: ","))" }
        lines.append(canonicalResourceVersion2(request))
        return lines.joined(separator: "\n")
    }

    /// `/bucket` (virtual-host style) + the path as sent + the signed sub-resources, sorted, values decoded.
    static func canonicalResourceVersion2(_ request: S3SignedRequest) -> String {
        var resource = (request.virtualHostedBucket.map { "/" + $0 } ?? "") + request.rawPath
        let subresources = (request.rawQuery ?? "").split(separator: "&").compactMap { pair -> (Substring, String)? in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard signedSubresources.contains(parts[0]) else { return nil }
            guard parts.count == 2 else { return (parts[0], String(parts[0])) }
            return (parts[0], parts[0] + "=" + String(decoding: SigV4Canonical.percentDecode(parts[1]), as: UTF8.self))
        }
        if !subresources.isEmpty {
            resource += "?" + subresources.sorted { $0.0 < $1.0 }.map(\.1).joined(separator: "&")
        }
        return resource
    }

    /// base64(HMAC-SHA1(secret, stringToSign)), compared in constant time.
    static func signatureVersion2(of stringToSign: String, secret: String) -> String {
        let code = HMAC<Insecure.SHA1>.authenticationCode(
            for: Array(stringToSign.utf8), using: SymmetricKey(data: Array(secret.utf8)))
        return Data(code).base64EncodedString()
    }

    private static func checkSignatureVersion2(_ provided: String, of stringToSign: String, secret: String) throws {
        guard SigV4Canonical.constantTimeEquals(signatureVersion2(of: stringToSign, secret: secret), provided) else {
            throw S3AuthError.signatureDoesNotMatch()
        }
    }
}
