import Foundation
import Testing

@testable import S3Protocol

/// The examples of AWS's "Signature Calculations for the Authorization Header", "Authenticating Requests: Using
/// Query Parameters" and "Transferring Payload in Multiple Chunks" pages, reproduced by both verifier and signer.
@Suite("SigV4 against AWS's published examples")
struct SigV4AWSVectorTests {
    private func authorization(signedHeaders: String, signature: String) -> (name: String, value: String) {
        (
            "Authorization",
            "AWS4-HMAC-SHA256 Credential=\(AWSExample.scope),SignedHeaders=\(signedHeaders),Signature=\(signature)"
        )
    }

    @Test("GET Object with a Range header")
    func getObject() throws {
        let signature = "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        let request = S3SignedRequest(
            method: "GET", rawPath: "/test.txt", rawQuery: nil,
            headers: [
                ("Host", "examplebucket.s3.amazonaws.com"),
                authorization(signedHeaders: "host;range;x-amz-content-sha256;x-amz-date", signature: signature),
                ("Range", "bytes=0-9 "),
                ("x-amz-content-sha256", AWSExample.emptySHA256),
                ("x-amz-date", "20130524T000000Z"),
            ])
        let authentication = try AWSExample.verifier().authenticate(request)
        #expect(authentication.chunkSigning?.seedSignature == signature)
        #expect(authentication.payload == .sha256(hex: AWSExample.emptySHA256))
        #expect(authentication.credential == AWSExample.credential)
        #expect(authentication.chunkSigning?.amzDate == "20130524T000000Z")
        #expect(authentication.chunkSigning?.scope == "20130524/us-east-1/s3/aws4_request")

        let signed = AWSExample.signer.sign(
            method: "GET", rawPath: "/test.txt", rawQuery: nil,
            headers: [("Host", "examplebucket.s3.amazonaws.com"), ("Range", "bytes=0-9")],
            payloadHash: AWSExample.emptySHA256, date: AWSExample.date)
        #expect(
            signed.first { $0.0 == "authorization" }?.1
                == "AWS4-HMAC-SHA256 Credential=\(AWSExample.scope), "
                + "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature=\(signature)")
    }

    @Test("GET Object: the canonical request and string to sign are AWS's")
    func getObjectIntermediateSteps() throws {
        let headers = try SigV4Canonical.canonicalHeaders(
            signedHeaders: ["host", "range", "x-amz-content-sha256", "x-amz-date"],
            headers: [
                ("Host", "examplebucket.s3.amazonaws.com"), ("Range", "bytes=0-9"),
                ("x-amz-content-sha256", AWSExample.emptySHA256), ("x-amz-date", "20130524T000000Z"),
            ]
        ).get()
        let canonicalRequest = SigV4Canonical.canonicalRequest(
            method: "GET", canonicalURI: SigV4Canonical.canonicalURI(rawPath: "/test.txt"), canonicalQuery: "",
            canonicalHeaders: headers, signedHeaders: ["host", "range", "x-amz-content-sha256", "x-amz-date"],
            payloadHash: AWSExample.emptySHA256)
        let stringToSign = SigV4Canonical.stringToSign(
            amzDate: "20130524T000000Z", scope: "20130524/us-east-1/s3/aws4_request", canonicalRequest: canonicalRequest)
        #expect(stringToSign.hasSuffix("\n7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972"))
    }

    @Test("PUT Object of test$file.text, whether the client sends $ raw or as %24")
    func putObject() throws {
        let signature = "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"
        let payloadHash = "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"
        for rawPath in ["/test%24file.text", "/test$file.text"] {
            let request = S3SignedRequest(
                method: "PUT", rawPath: rawPath, rawQuery: nil,
                headers: [
                    ("Host", "examplebucket.s3.amazonaws.com"),
                    ("Date", "Fri, 24 May 2013 00:00:00 GMT"),
                    authorization(
                        signedHeaders: "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class",
                        signature: signature),
                    ("x-amz-date", "20130524T000000Z "),
                    ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
                    ("x-amz-content-sha256", payloadHash),
                ])
            let authentication = try AWSExample.verifier().authenticate(request)
            #expect(authentication.payload == .sha256(hex: payloadHash))
        }
        let signed = AWSExample.signer.sign(
            method: "PUT", rawPath: "/test$file.text", rawQuery: nil,
            headers: [
                ("Host", "examplebucket.s3.amazonaws.com"), ("Date", "Fri, 24 May 2013 00:00:00 GMT"),
                ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
            ], payloadHash: payloadHash, date: AWSExample.date)
        #expect(signed.first { $0.0 == "authorization" }?.1.hasSuffix("Signature=\(signature)") == true)
    }

    @Test("GET Bucket Lifecycle: a parameter without a value")
    func getBucketLifecycle() throws {
        let signature = "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"
        let request = S3SignedRequest(
            method: "GET", rawPath: "/", rawQuery: "lifecycle",
            headers: [
                ("Host", "examplebucket.s3.amazonaws.com"),
                authorization(signedHeaders: "host;x-amz-content-sha256;x-amz-date", signature: signature),
                ("x-amz-date", "20130524T000000Z"),
                ("x-amz-content-sha256", AWSExample.emptySHA256),
            ])
        #expect(try AWSExample.verifier().authenticate(request).chunkSigning?.seedSignature == signature)
        let signed = S3SignedRequest.signed(rawPath: "/", rawQuery: "lifecycle")
        #expect(signed.firstValue(of: "authorization")?.hasSuffix("Signature=\(signature)") == true)
    }

    @Test("Get Bucket (List Objects): parameters sorted by name, in whichever order they came")
    func listObjects() throws {
        let signature = "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"
        for rawQuery in ["max-keys=2&prefix=J", "prefix=J&max-keys=2"] {
            let request = S3SignedRequest(
                method: "GET", rawPath: "/", rawQuery: rawQuery,
                headers: [
                    ("Host", "examplebucket.s3.amazonaws.com"),
                    authorization(signedHeaders: "host;x-amz-content-sha256;x-amz-date", signature: signature),
                    ("x-amz-date", "20130524T000000Z"),
                    ("x-amz-content-sha256", AWSExample.emptySHA256),
                ])
            #expect(try AWSExample.verifier().authenticate(request).chunkSigning?.seedSignature == signature)
        }
    }

    @Test("the presigned URL for test.txt, valid 86400 seconds")
    func presignedURL() throws {
        let signature = "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
        let expectedQuery =
            "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
            + "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=\(signature)"
        let query = AWSExample.signer.presign(
            method: "GET", rawPath: "/test.txt", rawQuery: nil, host: "examplebucket.s3.amazonaws.com",
            expires: .seconds(86400), date: AWSExample.date)
        #expect(query == expectedQuery)

        let request = S3SignedRequest(
            method: "GET", rawPath: "/test.txt", rawQuery: expectedQuery,
            headers: [("Host", "examplebucket.s3.amazonaws.com"), ("User-Agent", "curl/8.5.0")])
        let authentication = try AWSExample.verifier(now: AWSExample.date + 86_000).authenticate(request)
        #expect(authentication.payload == .unsigned)
        #expect(authentication.chunkSigning?.seedSignature == signature)
    }

    @Test("the chunked upload's seed signature (STREAMING-AWS4-HMAC-SHA256-PAYLOAD)")
    func streamingSeed() throws {
        let signature = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
        let request = S3SignedRequest(
            method: "PUT", rawPath: "/examplebucket/chunkObject.txt", rawQuery: nil,
            headers: [
                ("Host", "s3.amazonaws.com"),
                ("x-amz-date", "20130524T000000Z"),
                ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
                authorization(
                    signedHeaders:
                        "content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class",
                    signature: signature),
                ("x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"),
                ("Content-Encoding", "aws-chunked"),
                ("x-amz-decoded-content-length", "66560"),
                ("Content-Length", "66824"),
            ])
        let authentication = try AWSExample.verifier().authenticate(request)
        #expect(authentication.payload == .streamingSigned(trailer: false))
        #expect(authentication.chunkSigning?.seedSignature == signature)
    }

    @Test("the chunked upload with a trailer: its seed signature (STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER)")
    func streamingTrailerSeed() throws {
        let signature = "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e"
        let request = S3SignedRequest(
            method: "PUT", rawPath: "/examplebucket/chunkObject.txt", rawQuery: nil,
            headers: [
                ("Host", "s3.amazonaws.com"),
                ("x-amz-date", "20130524T000000Z"),
                ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
                authorization(
                    signedHeaders:
                        "content-encoding;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class;x-amz-trailer",
                    signature: signature),
                ("x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"),
                ("Content-Encoding", "aws-chunked"),
                ("x-amz-decoded-content-length", "66560"),
                ("x-amz-trailer", "x-amz-checksum-crc32c"),
            ])
        let authentication = try AWSExample.verifier().authenticate(request)
        #expect(authentication.payload == .streamingSigned(trailer: true))
        #expect(authentication.chunkSigning?.seedSignature == signature)
    }
}
