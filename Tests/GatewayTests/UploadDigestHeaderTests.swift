import DFSServer
import DFSCore
import Foundation
import HTTPTypes
import Testing

@testable import Gateway

/// The client's expected digest: a header that asks for a check the gateway cannot make is refused,
/// never silently ignored (found by schemathesis).
@Suite("Upload digest headers")
struct UploadDigestHeaderTests {
    let digest = SHA256Digest(hex: String(repeating: "ab", count: 32))!
    var base64: String { Data(digest.bytes).base64EncodedString() }

    func expected(_ fields: [(String, String)]) throws -> SHA256Digest? {
        var headers = HTTPFields()
        for (name, value) in fields { headers.append(HTTPField(name: HTTPField.Name(name)!, value: value)) }
        return try UploadInput.expectedDigest(headers)
    }

    @Test("X-Checksum-SHA256 and Content-Digest sha-256 each give the digest; other members are skipped")
    func wellFormed() throws {
        #expect(try expected([("X-Checksum-SHA256", digest.hex.uppercased())]) == digest)
        #expect(try expected([("Content-Digest", "sha-256=:\(base64):")]) == digest)
        #expect(try expected([("Content-Digest", "sha-512=:AAAA:, sha-256=:\(base64):")]) == digest)
        #expect(try expected([("X-Checksum-SHA256", digest.hex), ("Content-Digest", "sha-256=:\(base64):")]) == digest)
        #expect(try expected([]) == nil)
    }

    @Test(
        "an empty, colon-less or sha-256-less Content-Digest is refused as invalid_digest",
        arguments: [
            "", "sha-256=\(Data(repeating: 0xab, count: 32).base64EncodedString())", "sha-512=:AAAA:", "SHA-256=:AAAA:",
            "sha-256=::",
        ])
    func malformedContentDigest(_ value: String) throws {
        #expect(throws: UploadError.self) { try expected([("Content-Digest", value)]) }
    }

    @Test("two headers naming different digests are refused with 422 digest_mismatch")
    func disagreeingHeaders() throws {
        let other = String(repeating: "cd", count: 32)
        let error = #expect(throws: APIError.self) {
            try expected([("X-Checksum-SHA256", other), ("Content-Digest", "sha-256=:\(base64):")])
        }
        #expect(error?.status.code == 422)
        #expect(error?.code == "digest_mismatch")
    }
}
