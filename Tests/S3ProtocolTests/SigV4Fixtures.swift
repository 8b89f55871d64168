import Foundation
import Testing

@testable import S3Protocol

/// The key, time and region of AWS's published SigV4 examples.
enum AWSExample {
    static let credential = S3Credential(
        accessKeyID: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        name: "example", readOnly: false)
    /// 2013-05-24T00:00:00Z.
    static let date = Date(timeIntervalSince1970: 1_369_353_600)
    static let region = "us-east-1"
    static let emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    static let scope = "AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request"

    static func verifier(
        now: Date = date, region: String = region, credentials: [S3Credential] = [credential]
    ) -> S3RequestVerifier {
        S3RequestVerifier(region: region, credentials: credentials, now: { now })
    }

    static let signer = SigV4Signer(credential: credential, region: region)
}

/// The error `body` throws, or nil (recorded as a failure) when it throws none or another kind.
func authError(
    _ body: () throws -> Any, sourceLocation: SourceLocation = #_sourceLocation
) -> S3AuthError? {
    do {
        _ = try body()
        Issue.record("expected an S3AuthError, got success", sourceLocation: sourceLocation)
        return nil
    } catch let error as S3AuthError {
        return error
    } catch {
        Issue.record("expected an S3AuthError, got \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

extension S3SignedRequest {
    /// A request signed by `signer` with its headers added.
    static func signed(
        by signer: SigV4Signer = AWSExample.signer, method: String = "GET", rawPath: String, rawQuery: String? = nil,
        headers: [(name: String, value: String)] = [("Host", "examplebucket.s3.amazonaws.com")],
        payloadHash: String = AWSExample.emptySHA256, date: Date = AWSExample.date
    ) -> S3SignedRequest {
        let added = signer.sign(
            method: method, rawPath: rawPath, rawQuery: rawQuery, headers: headers, payloadHash: payloadHash, date: date)
        return S3SignedRequest(
            method: method, rawPath: rawPath, rawQuery: rawQuery, headers: headers + added.map { (name: $0.0, value: $0.1) })
    }
}
