import Crypto
import Foundation

/// Signs S3 requests the way AWS clients do: for tests, and for our own Swift clients of the S3 listener.
public struct SigV4Signer: Sendable {
    public let credential: S3Credential
    public let region: String

    public init(credential: S3Credential, region: String) {
        self.credential = credential
        self.region = region
    }

    /// Signs every header given (include `host`) plus the two this adds.
    /// - Parameters:
    ///   - rawPath: the path as it will be sent, percent-encoded.
    ///   - payloadHash: the `x-amz-content-sha256` value: a hex SHA-256, `UNSIGNED-PAYLOAD` or a `STREAMING-…` mode.
    /// - Returns: the headers to add: `authorization`, `x-amz-date` and `x-amz-content-sha256`.
    public func sign(
        method: String, rawPath: String, rawQuery: String?, headers: [(name: String, value: String)],
        payloadHash: String, date: Date
    ) -> [(String, String)] {
        let timestamp = AmzTimestamp(date)
        let replaced: Set<String> = ["authorization", "x-amz-date", "x-amz-content-sha256"]
        let allHeaders =
            headers.filter { !replaced.contains($0.name.lowercased()) }
            + [("x-amz-date", timestamp.basic), ("x-amz-content-sha256", payloadHash)]
        let signedHeaders = Array(Set(allHeaders.map { $0.name.lowercased() })).sorted()
        let signature = signature(
            method: method, rawPath: rawPath, canonicalQuery: SigV4Canonical.canonicalQuery(rawQuery: rawQuery),
            headers: allHeaders, signedHeaders: signedHeaders, payloadHash: payloadHash, timestamp: timestamp)
        let authorization =
            "\(SigV4Canonical.algorithm) Credential=\(credential.accessKeyID)/\(scope(timestamp)), "
            + "SignedHeaders=\(signedHeaders.joined(separator: ";")), Signature=\(signature)"
        return [("authorization", authorization), ("x-amz-date", timestamp.basic), ("x-amz-content-sha256", payloadHash)]
    }

    /// A presigned URL's query: `rawQuery`'s parameters, then the `X-Amz-*` ones, `X-Amz-Signature` last.
    /// Only `host` is signed, as AWS SDKs do, so any client can send the request.
    public func presign(
        method: String, rawPath: String, rawQuery: String?, host: String, expires: Duration, date: Date
    ) -> String {
        let timestamp = AmzTimestamp(date)
        let credentialText = "\(credential.accessKeyID)/\(scope(timestamp))"
        let authParameters = [
            "X-Amz-Algorithm=\(SigV4Canonical.algorithm)",
            "X-Amz-Credential=\(SigV4Canonical.uriEncode(credentialText.utf8, keepingSlash: false))",
            "X-Amz-Date=\(timestamp.basic)",
            "X-Amz-Expires=\(expires.components.seconds)",
            "X-Amz-SignedHeaders=host",
        ]
        let query = ([rawQuery].compactMap { $0 }.filter { !$0.isEmpty } + authParameters).joined(separator: "&")
        let signature = signature(
            method: method, rawPath: rawPath, canonicalQuery: SigV4Canonical.canonicalQuery(rawQuery: query),
            headers: [("host", host)], signedHeaders: ["host"], payloadHash: "UNSIGNED-PAYLOAD", timestamp: timestamp)
        return query + "&X-Amz-Signature=" + signature
    }

    /// The derived key for `date`, which signs the chunks of an `aws-chunked` body.
    func signingKey(_ timestamp: AmzTimestamp) -> SymmetricKey {
        SigV4Canonical.signingKey(
            secretAccessKey: credential.secretAccessKey, dateStamp: timestamp.dateStamp, region: region)
    }

    func scope(_ timestamp: AmzTimestamp) -> String {
        SigV4Canonical.scope(dateStamp: timestamp.dateStamp, region: region)
    }

    private func signature(
        method: String, rawPath: String, canonicalQuery: String, headers: [(name: String, value: String)],
        signedHeaders: [String], payloadHash: String, timestamp: AmzTimestamp
    ) -> String {
        // Every signed header is among `headers`, so the block cannot be missing one.
        let canonicalHeaders =
            (try? SigV4Canonical.canonicalHeaders(signedHeaders: signedHeaders, headers: headers).get()) ?? ""
        let canonicalRequest = SigV4Canonical.canonicalRequest(
            method: method, canonicalURI: SigV4Canonical.canonicalURI(rawPath: rawPath), canonicalQuery: canonicalQuery,
            canonicalHeaders: canonicalHeaders, signedHeaders: signedHeaders, payloadHash: payloadHash)
        let stringToSign = SigV4Canonical.stringToSign(
            amzDate: timestamp.basic, scope: scope(timestamp), canonicalRequest: canonicalRequest)
        return SigV4Canonical.signature(stringToSign, key: signingKey(timestamp))
    }
}
