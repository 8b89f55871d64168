import Foundation
import Testing

@testable import S3Protocol

/// Signature Version 2 against AWS's published examples (RESTAuthentication: same key as the SigV4 ones), and the
/// forms s3cmd and botocore's presigner write.
@Suite("Signature Version 2: AWS's examples verify; expiry, skew and tampering are refused")
struct SignatureVersion2Tests {
    /// 2007-03-27T19:36:42Z, the time of AWS's GET example.
    private static let exampleTime = Date(timeIntervalSince1970: 1_175_024_202)

    private func verifier(at time: Date = exampleTime) -> S3RequestVerifier {
        AWSExample.verifier(now: time)
    }

    private func request(
        _ method: String, _ target: String, bucketInHost: String? = nil, headers: [(String, String)]
    ) -> S3SignedRequest {
        let parts = target.split(separator: "?", maxSplits: 1)
        return S3SignedRequest(
            method: method, rawPath: String(parts[0]), rawQuery: parts.count > 1 ? String(parts[1]) : nil,
            headers: headers.map { (name: $0.0, value: $0.1) }, virtualHostedBucket: bucketInHost)
    }

    private func authorization(_ signature: String) -> (String, String) {
        ("Authorization", "AWS AKIAIOSFODNN7EXAMPLE:\(signature)")
    }

    @Test("AWS's header examples: GET, PUT, list, ?acl and a PUT with Content-MD5 and repeated x-amz-meta headers")
    func awsHeaderExamples() throws {
        let get = request(
            "GET", "/photos/puppy.jpg", bucketInHost: "johnsmith",
            headers: [
                ("Host", "johnsmith.s3.amazonaws.com"), ("Date", "Tue, 27 Mar 2007 19:36:42 +0000"),
                authorization("bWq2s1WEIj+Ydj0vQ697zp+IXMU="),
            ])
        let authentication = try verifier().authenticate(get)
        #expect(authentication.credential.accessKeyID == "AKIAIOSFODNN7EXAMPLE")
        #expect(authentication.payload == .unsigned && authentication.chunkSigning == nil)

        let put = request(
            "PUT", "/johnsmith/photos/puppy.jpg",
            headers: [
                ("Content-Type", "image/jpeg"), ("Content-Length", "94328"), ("Host", "s3.amazonaws.com"),
                ("Date", "Tue, 27 Mar 2007 21:15:45 +0000"), authorization("MyyxeRY7whkBe+bq8fHCL/2kKUg="),
            ])
        _ = try verifier(at: Date(timeIntervalSince1970: 1_175_030_145)).authenticate(put)

        // Parameters that are not sub-resources are not signed.
        let list = request(
            "GET", "/?prefix=photos&max-keys=50&marker=puppy", bucketInHost: "johnsmith",
            headers: [
                ("User-Agent", "Mozilla/5.0"), ("Host", "johnsmith.s3.amazonaws.com"),
                ("Date", "Tue, 27 Mar 2007 19:42:41 +0000"), authorization("htDYFYduRNen8P9ZfE/s9SuKy0U="),
            ])
        _ = try verifier(at: Date(timeIntervalSince1970: 1_175_024_561)).authenticate(list)

        let acl = request(
            "GET", "/?acl", bucketInHost: "johnsmith",
            headers: [
                ("Host", "johnsmith.s3.amazonaws.com"), ("Date", "Tue, 27 Mar 2007 19:44:46 +0000"),
                authorization("c2WLPFtWHVgbEmeEG93a4cG37dM="),
            ])
        _ = try verifier(at: Date(timeIntervalSince1970: 1_175_024_686)).authenticate(acl)

        let upload = request(
            "PUT", "/db-backup.dat.gz", bucketInHost: "static.johnsmith.net",
            headers: [
                ("User-Agent", "curl/7.15.5"), ("Host", "static.johnsmith.net:8080"),
                ("Date", "Tue, 27 Mar 2007 21:06:08 +0000"), ("x-amz-acl", "public-read"),
                ("content-type", "application/x-download"), ("Content-MD5", "4gJE4saaMU4BqNR0kLY+lw=="),
                ("X-Amz-Meta-ReviewedBy", "joe@johnsmith.net"), ("X-Amz-Meta-ReviewedBy", "jane@johnsmith.net"),
                ("X-Amz-Meta-FileChecksum", "0x02661779"), ("X-Amz-Meta-ChecksumAlgorithm", "crc32"),
                ("Content-Disposition", "attachment; filename=database.dat"), ("Content-Encoding", "gzip"),
                ("Content-Length", "5913339"), authorization("ilyl83RwaSoYIEdixDQcA4OnAnc="),
            ])
        _ = try verifier(at: Date(timeIntervalSince1970: 1_175_029_568)).authenticate(upload)
    }

    @Test("s3cmd's form: x-amz-date signed among the x-amz headers, the date line empty; the path as sent")
    func amzDateForm() throws {
        let put = request(
            "PUT", "/bucket/key%20name.txt",
            headers: [
                ("Host", "127.0.0.1:9000"), ("x-amz-date", "Tue, 27 Mar 2007 21:20:26 +0000"),
                ("Content-Type", "text/plain"), ("x-amz-meta-a", "1"), authorization("qkc8IgX1QitK6oPgGK9JinSJXAw="),
            ])
        _ = try verifier(at: Date(timeIntervalSince1970: 1_175_030_426)).authenticate(put)
        // Sixteen minutes later the same request is refused as skewed; the clock limit is 15 minutes.
        #expect(
            authError { try verifier(at: Date(timeIntervalSince1970: 1_175_030_426 + 960)).authenticate(put) }?.code
                == "RequestTimeTooSkewed")
    }

    @Test("AWS's presigned example verifies until its Expires, then is refused as expired")
    func awsPresignedExample() throws {
        let url = request(
            "GET",
            "/photos/puppy.jpg?AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Signature=NpgCjnDzrM%2BWFzoENXmpNDUsSn8%3D"
                + "&Expires=1175139620",
            bucketInHost: "johnsmith", headers: [("Host", "johnsmith.s3.amazonaws.com")])
        _ = try verifier(at: Date(timeIntervalSince1970: 1_175_139_620)).authenticate(url)
        let late = authError { try verifier(at: Date(timeIntervalSince1970: 1_175_139_621)).authenticate(url) }
        #expect(late?.code == "AccessDenied" && late?.message == "Request has expired")
    }

    @Test("a presigned URL signs sub-resources (sorted, values decoded) and x-amz-* carried in the query")
    func presignedSubresources() throws {
        let url = request(
            "PUT",
            "/bucket/key?uploadId=abc%2Fdef&partNumber=2&x-amz-meta-owner=ana&AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE"
                + "&Expires=1175139620&Signature=idvDvWsPzPTt8GbBjfc0NazJQSE%3D",
            headers: [("Host", "127.0.0.1:9000")])
        _ = try verifier().authenticate(url)
        var otherPart = url
        otherPart.rawQuery = otherPart.rawQuery?.replacingOccurrences(of: "partNumber=2", with: "partNumber=3")
        #expect(authError { try verifier().authenticate(otherPart) }?.code == "SignatureDoesNotMatch")
    }

    @Test("refusals: a wrong signature, an unknown key, no date, a malformed header, a missing parameter, a chunked body")
    func refusals() {
        func get(_ headers: [(String, String)]) -> S3SignedRequest {
            request("GET", "/photos/puppy.jpg", bucketInHost: "johnsmith", headers: [("Host", "h")] + headers)
        }
        let date = ("Date", "Tue, 27 Mar 2007 19:36:42 +0000")
        #expect(
            authError { try verifier().authenticate(get([date, authorization("bWq2s1WEIj+Ydj0vQ697zp+IXMV=")])) }?.code
                == "SignatureDoesNotMatch")
        #expect(
            authError {
                try verifier().authenticate(get([date, ("Authorization", "AWS AKIDUNKNOWN:bWq2s1WEIj+Ydj0vQ697zp+IXMU=")]))
            }?.code == "InvalidAccessKeyId")
        let undated = authError { try verifier().authenticate(get([authorization("bWq2s1WEIj+Ydj0vQ697zp+IXMU=")])) }
        #expect(undated?.code == "AccessDenied" && undated?.message.contains("Date or x-amz-date") == true)
        #expect(
            authError { try verifier().authenticate(get([date, ("Authorization", "AWS nocolon")])) }?.code == "InvalidArgument")
        let noExpires = request(
            "GET", "/bucket/key?AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Signature=x", headers: [("Host", "h")])
        #expect(authError { try verifier().authenticate(noExpires) }?.code == "AccessDenied")
        let chunked = get([
            date, ("x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"),
            authorization("bWq2s1WEIj+Ydj0vQ697zp+IXMU="),
        ])
        #expect(authError { try verifier().authenticate(chunked) }?.code == "InvalidRequest")
    }
}
