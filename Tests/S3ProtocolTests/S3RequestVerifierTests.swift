import Foundation
import Testing

@testable import S3Protocol

@Suite("SigV4 verification: what is accepted and what each refusal says")
struct S3RequestVerifierTests {
    private let verifier = AWSExample.verifier()

    @Test("a request from the signer verifies, with its payload mode taken from x-amz-content-sha256")
    func roundTrip() throws {
        let modes: [(String, S3PayloadMode)] = [
            ("UNSIGNED-PAYLOAD", .unsigned),
            ("STREAMING-AWS4-HMAC-SHA256-PAYLOAD", .streamingSigned(trailer: false)),
            ("STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER", .streamingSigned(trailer: true)),
            ("STREAMING-UNSIGNED-PAYLOAD-TRAILER", .streamingUnsigned(trailer: true)),
            (AWSExample.emptySHA256.uppercased(), .sha256(hex: AWSExample.emptySHA256)),
        ]
        for (payloadHash, mode) in modes {
            let request = S3SignedRequest.signed(method: "PUT", rawPath: "/bucket/key", payloadHash: payloadHash)
            #expect(try verifier.authenticate(request).payload == mode)
        }
    }

    @Test("a key with spaces, unicode, + and % as a client encodes it round-trips, however the client escaped it")
    func awkwardPaths() throws {
        let key = "my dir/naïve file+plus 100%.txt"
        let encoded = "/bucket/" + SigV4Canonical.uriEncode(Array(key.utf8), keepingSlash: true)
        #expect(encoded == "/bucket/my%20dir/na%C3%AFve%20file%2Bplus%20100%25.txt")
        let request = S3SignedRequest.signed(
            method: "PUT", rawPath: encoded, rawQuery: "x-id=PutObject", payloadHash: "UNSIGNED-PAYLOAD")
        #expect(try verifier.authenticate(request).credential == AWSExample.credential)

        // Another client may leave '+' raw and write lower-case hex on the wire; S3 decodes first, so the
        // canonical path (and the signature) is the same.
        var rewritten = request
        rewritten.rawPath = "/bucket/my%20dir/na%c3%afve%20file+plus%20100%25.txt"
        #expect(try verifier.authenticate(rewritten).credential == AWSExample.credential)
    }

    @Test("canonical path: decoded once, encoded once with S3's rules, never double-encoded")
    func canonicalPaths() {
        #expect(SigV4Canonical.canonicalURI(rawPath: "") == "/")
        #expect(SigV4Canonical.canonicalURI(rawPath: "/a%7Eb~c") == "/a~b~c")
        #expect(SigV4Canonical.canonicalURI(rawPath: "/caf%c3%a9") == "/caf%C3%A9")
        #expect(SigV4Canonical.canonicalURI(rawPath: "/a%2Fb") == "/a/b")
        #expect(SigV4Canonical.canonicalURI(rawPath: "/50%off") == "/50%25off")
        #expect(SigV4Canonical.canonicalURI(rawPath: "/x//y/./z") == "/x//y/./z")
        #expect(SigV4Canonical.canonicalURI(rawPath: "/it's(1)!*") == "/it%27s%281%29%21%2A")
    }

    @Test("canonical query: decoded, '+' kept as '+', re-encoded with '/' encoded, sorted by name then value")
    func canonicalQueries() {
        #expect(SigV4Canonical.canonicalQuery(rawQuery: nil) == "")
        #expect(SigV4Canonical.canonicalQuery(rawQuery: "acl") == "acl=")
        #expect(SigV4Canonical.canonicalQuery(rawQuery: "a=b+c&x=%2f") == "a=b%2Bc&x=%2F")
        #expect(
            SigV4Canonical.canonicalQuery(rawQuery: "prefix=photos/2024/&delimiter=/") == "delimiter=%2F&prefix=photos%2F2024%2F")
        #expect(SigV4Canonical.canonicalQuery(rawQuery: "k=2&k=1&K=3") == "K=3&k=1&k=2")
        #expect(SigV4Canonical.canonicalQuery(rawQuery: "a=%20&b=%E2%9C%93") == "a=%20&b=%E2%9C%93")
        #expect(
            SigV4Canonical.canonicalQuery(rawQuery: "X-Amz-Signature=abc&list-type=2", excluding: "X-Amz-Signature")
                == "list-type=2")
    }

    @Test("header values are trimmed, inner spaces collapsed, repeated headers joined with commas")
    func canonicalHeaderValues() throws {
        let block = try SigV4Canonical.canonicalHeaders(
            signedHeaders: ["host", "x-amz-meta-tags"],
            headers: [("HOST", "  h.example  "), ("X-Amz-Meta-Tags", "a   b"), ("x-amz-meta-tags", " c ")]
        ).get()
        #expect(block == "host:h.example\nx-amz-meta-tags:a b,c\n")
    }

    @Test("a wrong secret: SignatureDoesNotMatch, and the message does not hold either secret")
    func wrongSecret() {
        var forged = AWSExample.credential
        forged.secretAccessKey = "not-the-secret"
        let request = S3SignedRequest.signed(
            by: SigV4Signer(credential: forged, region: AWSExample.region), rawPath: "/bucket/key")
        let error = authError { try verifier.authenticate(request) }
        #expect(error?.code == "SignatureDoesNotMatch")
        #expect(error?.httpStatus == 403)
        #expect(error?.message.contains("not-the-secret") == false)
        #expect(error?.message.contains(AWSExample.credential.secretAccessKey) == false)
    }

    @Test("a tampered request: another path, query, signed header or method breaks the signature")
    func tampering() {
        let original = S3SignedRequest.signed(
            method: "GET", rawPath: "/bucket/key", rawQuery: "versionId=1",
            headers: [("Host", "examplebucket.s3.amazonaws.com"), ("Range", "bytes=0-9")])
        var changes: [S3SignedRequest] = []
        var request = original
        request.rawPath = "/bucket/other"
        changes.append(request)
        request = original
        request.rawQuery = "versionId=2"
        changes.append(request)
        request = original
        request.method = "DELETE"
        changes.append(request)
        request = original
        request.headers = request.headers.map { $0.name == "Range" ? ("Range", "bytes=0-99") : $0 }
        changes.append(request)
        for changed in changes {
            #expect(authError { try verifier.authenticate(changed) }?.code == "SignatureDoesNotMatch")
        }
    }

    @Test("a wrong region: AuthorizationHeaderMalformed naming the region expected")
    func wrongRegion() {
        let request = S3SignedRequest.signed(
            by: SigV4Signer(credential: AWSExample.credential, region: "eu-west-1"), rawPath: "/bucket/key")
        let error = authError { try verifier.authenticate(request) }
        #expect(error?.code == "AuthorizationHeaderMalformed")
        #expect(error?.httpStatus == 400)
        #expect(error?.message.contains("the region 'eu-west-1' is wrong; expecting 'us-east-1'") == true)
    }

    @Test("an unknown access key: InvalidAccessKeyId")
    func unknownKey() {
        let stranger = S3Credential(accessKeyID: "AKIDUNKNOWN", secretAccessKey: "s", name: "x", readOnly: false)
        let request = S3SignedRequest.signed(
            by: SigV4Signer(credential: stranger, region: AWSExample.region), rawPath: "/bucket/key")
        let error = authError { try verifier.authenticate(request) }
        #expect(error?.code == "InvalidAccessKeyId")
        #expect(error?.httpStatus == 403)
    }

    @Test("a request 20 minutes off either way: RequestTimeTooSkewed; 10 minutes is fine")
    func clockSkew() throws {
        for offset in [-1200.0, 1200.0] {
            let skewed = AWSExample.verifier(now: AWSExample.date + offset)
            let error = authError { try skewed.authenticate(S3SignedRequest.signed(rawPath: "/bucket/key")) }
            #expect(error?.code == "RequestTimeTooSkewed")
            #expect(error?.httpStatus == 403)
        }
        for offset in [-600.0, 600.0] {
            let close = AWSExample.verifier(now: AWSExample.date + offset)
            _ = try close.authenticate(S3SignedRequest.signed(rawPath: "/bucket/key"))
        }
    }

    @Test("a request with only a Date header (no x-amz-date) verifies against that date")
    func dateHeaderOnly() throws {
        let headers: [(name: String, value: String)] = [
            ("host", "h"), ("date", "Fri, 24 May 2013 00:00:00 GMT"), ("x-amz-content-sha256", "UNSIGNED-PAYLOAD"),
        ]
        let signedHeaders = ["date", "host", "x-amz-content-sha256"]
        let canonicalRequest = SigV4Canonical.canonicalRequest(
            method: "GET", canonicalURI: "/b/k", canonicalQuery: "",
            canonicalHeaders: try SigV4Canonical.canonicalHeaders(signedHeaders: signedHeaders, headers: headers).get(),
            signedHeaders: signedHeaders, payloadHash: "UNSIGNED-PAYLOAD")
        let key = SigV4Canonical.signingKey(
            secretAccessKey: AWSExample.credential.secretAccessKey, dateStamp: "20130524", region: "us-east-1")
        let signature = SigV4Canonical.signature(
            SigV4Canonical.stringToSign(
                amzDate: "20130524T000000Z", scope: "20130524/us-east-1/s3/aws4_request",
                canonicalRequest: canonicalRequest), key: key)
        let authorization =
            "AWS4-HMAC-SHA256 Credential=\(AWSExample.scope), SignedHeaders=date;host;x-amz-content-sha256, "
            + "Signature=\(signature)"
        let request = S3SignedRequest(
            method: "GET", rawPath: "/b/k", rawQuery: nil, headers: headers + [("Authorization", authorization)])
        #expect(try verifier.authenticate(request).chunkSigning?.amzDate == "20130524T000000Z")
    }

    @Test("no signature at all: AccessDenied, anonymous access is not allowed")
    func anonymous() {
        let request = S3SignedRequest(method: "GET", rawPath: "/bucket/key", rawQuery: "list-type=2", headers: [("Host", "h")])
        let error = authError { try verifier.authenticate(request) }
        #expect(error?.code == "AccessDenied")
        #expect(error?.message.contains("anonymous access is not allowed") == true)
    }

    @Test("header values are trimmed and runs of spaces and tabs collapsed; others are kept as they are")
    func headerValueNormalisation() {
        #expect(SigV4Canonical.normalizedHeaderValue("plain value") == "plain value")
        #expect(SigV4Canonical.normalizedHeaderValue("  a   b\t\tc  \r") == "a b c")
        #expect(SigV4Canonical.normalizedHeaderValue("\tx\r") == "x")
        #expect(SigV4Canonical.normalizedHeaderValue("ünï  côdé ") == "ünï côdé")
        #expect(SigV4Canonical.normalizedHeaderValue(" \t\r ") == "")
        #expect(SigV4Canonical.normalizedHeaderValue("a\rb") == "a\rb")
        #expect(SigV4Canonical.normalizedHeaderValue("a \tb") == "a b")
    }

    @Test("x-amz-content-sha256: missing is InvalidRequest, an unknown value InvalidArgument")
    func contentSHA256Header() {
        var missing = S3SignedRequest.signed(rawPath: "/bucket/key")
        missing.headers.removeAll { $0.name == "x-amz-content-sha256" }
        #expect(authError { try verifier.authenticate(missing) }?.code == "InvalidRequest")

        let unknown = S3SignedRequest.signed(rawPath: "/bucket/key", payloadHash: "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD")
        #expect(authError { try verifier.authenticate(unknown) }?.code == "InvalidArgument")
    }

    @Test("an x-amz-* header added after signing is refused with AccessDenied")
    func unsignedAmzHeader() {
        var request = S3SignedRequest.signed(method: "PUT", rawPath: "/bucket/key")
        request.headers.append(("X-Amz-Meta-Injected", "yes"))
        let error = authError { try verifier.authenticate(request) }
        #expect(error?.code == "AccessDenied")
        #expect(error?.message.contains("x-amz-meta-injected") == true)
    }

    @Test("malformed Authorization headers say what is wrong")
    func malformedHeaders() {
        let base = S3SignedRequest.signed(rawPath: "/bucket/key")
        let authorization = base.firstValue(of: "authorization")!
        let variants = [
            authorization.replacingOccurrences(of: "/s3/", with: "/ec2/"),
            authorization.replacingOccurrences(of: "aws4_request", with: "aws5_request"),
            authorization.replacingOccurrences(of: "/20130524/", with: "/20130525/"),
            authorization.replacingOccurrences(of: "SignedHeaders=host;", with: "SignedHeaders="),
            authorization.replacingOccurrences(of: ", Signature=", with: ", Sig="),
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3",
        ]
        for variant in variants {
            var request = base
            request.headers = request.headers.map { $0.name == "authorization" ? ($0.name, variant) : $0 }
            let error = authError { try verifier.authenticate(request) }
            #expect(error?.code == "AuthorizationHeaderMalformed", "\(variant)")
        }
    }

    @Test("a presigned URL past its expiry: AccessDenied, Request has expired")
    func expiredPresign() {
        let query = AWSExample.signer.presign(
            method: "GET", rawPath: "/bucket/key", rawQuery: nil, host: "h", expires: .seconds(60),
            date: AWSExample.date)
        let request = S3SignedRequest(method: "GET", rawPath: "/bucket/key", rawQuery: query, headers: [("Host", "h")])
        #expect(throws: Never.self) { try AWSExample.verifier(now: AWSExample.date + 59).authenticate(request) }
        let error = authError { try AWSExample.verifier(now: AWSExample.date + 61).authenticate(request) }
        #expect(error == S3AuthError.requestExpired())
        #expect(error?.message == "Request has expired")
    }

    @Test("presigned URLs: extra parameters are signed too, and bad X-Amz-* parameters are refused")
    func presignedParameters() throws {
        let query = AWSExample.signer.presign(
            method: "PUT", rawPath: "/bucket/a%20b", rawQuery: "partNumber=1&uploadId=a%2Fb", host: "h",
            expires: .seconds(3600), date: AWSExample.date)
        let request = S3SignedRequest(method: "PUT", rawPath: "/bucket/a%20b", rawQuery: query, headers: [("host", "h")])
        #expect(try verifier.authenticate(request).payload == .unsigned)

        var changed = request
        changed.rawQuery = query.replacingOccurrences(of: "partNumber=1", with: "partNumber=2")
        #expect(authError { try verifier.authenticate(changed) }?.code == "SignatureDoesNotMatch")

        for (from, to) in [
            ("X-Amz-Expires=3600", "X-Amz-Expires=604801"), ("X-Amz-Expires=3600", "X-Amz-Expires=0"),
            ("X-Amz-Algorithm=AWS4-HMAC-SHA256", "X-Amz-Algorithm=AWS4-HMAC-SHA1"),
            ("&X-Amz-Date=20130524T000000Z", ""), ("us-east-1", "eu-west-1"),
        ] {
            changed.rawQuery = query.replacingOccurrences(of: from, with: to)
            #expect(authError { try verifier.authenticate(changed) }?.code == "AuthorizationQueryParametersError", "\(to)")
        }
        changed.rawQuery = query.replacingOccurrences(of: "us-east-1", with: "eu-west-1")
        #expect(authError { try verifier.authenticate(changed) }?.message.contains("expecting 'us-east-1'") == true)
    }

    @Test("the read-only refusal is an AccessDenied the caller raises")
    func readOnlyKey() {
        #expect(S3AuthError.readOnlyKey().code == "AccessDenied")
        #expect(S3AuthError.readOnlyKey().httpStatus == 403)
    }

    @Test("an authentication's description names the key but not the secret")
    func authenticationDescription() throws {
        let authentication = try verifier.authenticate(S3SignedRequest.signed(rawPath: "/bucket/key"))
        #expect(!"\(authentication)".contains(AWSExample.credential.secretAccessKey))
        #expect("\(authentication)".contains("AKIAIOSFODNN7EXAMPLE"))
    }

    @Test("timestamps: x-amz-date and HTTP dates parse; impossible dates do not")
    func timestamps() {
        #expect(AmzTimestamp(basic: "20130524T000000Z")?.date == AWSExample.date)
        #expect(AmzTimestamp(httpDate: "Fri, 24 May 2013 00:00:00 GMT")?.basic == "20130524T000000Z")
        #expect(AmzTimestamp(AWSExample.date + 86_399.9).basic == "20130524T235959Z")
        #expect(AmzTimestamp(Date(timeIntervalSince1970: 951_782_400)).basic == "20000229T000000Z")
        for bad in ["20130231T000000Z", "20130524T240000Z", "2013-05-24T00:00:00Z", "20130524T000000"] {
            #expect(AmzTimestamp(basic: bad) == nil, "\(bad)")
        }
    }
}
