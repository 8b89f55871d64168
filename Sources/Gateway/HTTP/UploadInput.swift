import DFSClient
import DFSCore
import Foundation
import HTTPTypes
import Hummingbird

/// The parts of an upload request checked at the edge (SPEC §2.1, §2.2).
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
        filename = request.uri.queryParameters.get("filename").map { String($0) }
        if case .raw = format, filename == nil || filename!.isEmpty {
            filename = "upload.bin"
        }
        contentLength = request.headers[.contentLength].flatMap { Int64($0) }
        let envelopeAllowance: Int64 = format == .raw ? 0 : 64 << 10  // multipart headers and boundaries
        if let contentLength, contentLength > maxUploadSize + envelopeAllowance {
            throw UploadError.payloadTooLarge(limit: maxUploadSize)
        }
        expectedDigest = try Self.expectedDigest(request.headers)
    }

    /// `Content-Digest: sha-256=:BASE64:` (RFC 9530) or `X-Checksum-SHA256: HEX`.
    static func expectedDigest(_ headers: HTTPFields) throws -> SHA256Digest? {
        if let hex = headers[HTTPField.Name("x-checksum-sha256")!] {
            guard let digest = SHA256Digest(hex: hex.trimmingCharacters(in: .whitespaces)) else {
                throw UploadError.invalidDigestHeader("X-Checksum-SHA256 must be 64 hex digits")
            }
            return digest
        }
        if let header = headers[HTTPField.Name("content-digest")!] {
            for entry in header.split(separator: ",") {
                let trimmed = entry.trimmingCharacters(in: .whitespaces)
                guard trimmed.lowercased().hasPrefix("sha-256=") else { continue }
                let value = trimmed.dropFirst("sha-256=".count).trimmingCharacters(in: CharacterSet(charactersIn: ":"))
                guard let digest = SHA256Digest(base64: value) else {
                    throw UploadError.invalidDigestHeader("Content-Digest sha-256 must be :BASE64: of 32 bytes")
                }
                return digest
            }
        }
        return nil
    }
}
