import DFSClient
import DFSCore
import DFSServer
import Foundation
import HTTPTypes
import Hummingbird

/// The parts of an upload request checked at the edge.
struct UploadInput {
    var format: UploadBodyReader.Format
    var filename: String?
    var expectedDigest: SHA256Digest?
    var contentLength: Int64?

    init(parsing request: Request, maxUploadSize: Int64) throws {
        let contentType = request.headers[.contentType] ?? ""
        if contentType.lowercased().hasPrefix("multipart/") {
            guard let boundary = ContentDisposition.parameters(contentType)["boundary"], !boundary.isEmpty else {
                throw APIError.badRequest("multipart Content-Type without a boundary", code: "malformed_multipart")
            }
            format = .multipart(boundary: boundary)
        } else {
            format = .raw
        }
        let named = request.uri.queryParameters.get("filename").map { String($0) }
        if let named {
            do {
                filename = try OriginalFilename(validating: named).rawValue
            } catch {
                throw UploadError.invalidFilename(error.description)
            }
        } else if case .raw = format {
            // A raw body carries no name of its own: without one the file could not be listed or saved by name.
            throw UploadError.missingFilename
        }
        contentLength = request.headers[.contentLength].flatMap { Int64($0) }
        let envelopeAllowance: Int64 = format == .raw ? 0 : 64 << 10  // multipart headers and boundaries
        if let contentLength, contentLength > maxUploadSize + envelopeAllowance {
            throw UploadError.payloadTooLarge(limit: maxUploadSize)
        }
        expectedDigest = try Self.expectedDigest(request.headers)
    }

    /// `Content-Digest: sha-256=:BASE64:` (RFC 9530) or `X-Checksum-SHA256: HEX`; when both are sent they must agree.
    static func expectedDigest(_ headers: HTTPFields) throws -> SHA256Digest? {
        var fromHex: SHA256Digest?
        if let hex = headers[HTTPField.Name("x-checksum-sha256")!] {
            guard let digest = SHA256Digest(hex: hex.trimmingCharacters(in: .whitespaces)) else {
                throw UploadError.invalidDigestHeader("X-Checksum-SHA256 must be 64 hex digits")
            }
            fromHex = digest
        }
        guard let header = headers[HTTPField.Name("content-digest")!] else { return fromHex }
        let fromContentDigest = try contentDigestSHA256(header)
        if let fromHex, fromHex != fromContentDigest {
            // Well-formed, but no body can match both: the same answer as a body that matches neither.
            throw APIError(
                status: .unprocessableContent, code: "digest_mismatch",
                message: "X-Checksum-SHA256 and Content-Digest name different digests; nothing was stored")
        }
        return fromContentDigest
    }

    /// The `sha-256` member of a Content-Digest dictionary. A header without one is refused rather than ignored:
    /// the client asked for its upload to be checked, and the gateway can only check SHA-256.
    private static func contentDigestSHA256(_ header: String) throws -> SHA256Digest {
        for member in header.split(separator: ",") {
            let trimmed = member.trimmingCharacters(in: .whitespaces)
            guard trimmed.hasPrefix("sha-256=") else { continue }
            let value = trimmed.dropFirst("sha-256=".count)
            // A byte sequence in a structured field is `:BASE64:`, colons exactly once on each side.
            guard value.count > 2, value.hasPrefix(":"), value.hasSuffix(":"),
                let digest = SHA256Digest(base64: String(value.dropFirst().dropLast()))
            else {
                throw UploadError.invalidDigestHeader("Content-Digest sha-256 must be :BASE64: of 32 bytes")
            }
            return digest
        }
        throw UploadError.invalidDigestHeader("Content-Digest has no sha-256 member; the gateway verifies SHA-256 only")
    }
}
