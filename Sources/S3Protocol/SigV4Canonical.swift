import Crypto
import Foundation

/// The pieces of AWS Signature Version 4 as S3 computes them, shared by the verifier and the signer.
enum SigV4Canonical {
    static let algorithm = "AWS4-HMAC-SHA256"
    static let service = "s3"
    static let terminator = "aws4_request"
    /// Hex SHA-256 of nothing: the chunk string to sign carries it in place of chunk headers.
    static let emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    /// Percent-encodes every byte except `A-Z a-z 0-9 - . _ ~` (and `/` when `keepingSlash`), upper-case hex.
    static func uriEncode(_ bytes: some Sequence<UInt8>, keepingSlash: Bool) -> String {
        let hexDigits = Array("0123456789ABCDEF".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.underestimatedCount * 3)
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                out.append(byte)
            case UInt8(ascii: "/") where keepingSlash:
                out.append(byte)
            default:
                out.append(UInt8(ascii: "%"))
                out.append(hexDigits[Int(byte >> 4)])
                out.append(hexDigits[Int(byte & 0x0F)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes `%XX` escapes; a `%` not followed by two hex digits stays a literal `%`, and `+` stays `+`.
    static func percentDecode(_ text: some StringProtocol) -> [UInt8] {
        let bytes = Array(text.utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "%"), index + 2 < bytes.count,
                let high = hexValue(bytes[index + 1]), let low = hexValue(bytes[index + 2])
            {
                out.append(high << 4 | low)
                index += 3
            } else {
                out.append(bytes[index])
                index += 1
            }
        }
        return out
    }

    /// The path as S3 canonicalizes it: decoded once, then encoded once with `/` kept (S3 does not double-encode).
    static func canonicalURI(rawPath: String) -> String {
        let path = rawPath.isEmpty ? "/" : rawPath
        return uriEncode(percentDecode(path), keepingSlash: true)
    }

    /// The query's parameters, decoded, in wire order; a parameter without `=` has an empty value.
    static func queryParameters(rawQuery: String?) -> [(name: String, value: String)] {
        guard let rawQuery, !rawQuery.isEmpty else { return [] }
        return rawQuery.split(separator: "&").map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(decoding: percentDecode(parts[0]), as: UTF8.self)
            let value = parts.count > 1 ? String(decoding: percentDecode(parts[1]), as: UTF8.self) : ""
            return (name, value)
        }
    }

    /// `name=value` pairs re-encoded (with `/` encoded too), sorted by name then value, joined by `&`.
    /// - Parameter excludedName: a parameter left out, as `X-Amz-Signature` is from a presigned URL's query.
    static func canonicalQuery(rawQuery: String?, excluding excludedName: String? = nil) -> String {
        guard let rawQuery, !rawQuery.isEmpty else { return "" }
        var pairs: [(name: String, value: String)] = []
        for pair in rawQuery.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = percentDecode(parts[0])
            if let excludedName, name.elementsEqual(excludedName.utf8) { continue }
            let value = parts.count > 1 ? percentDecode(parts[1]) : []
            pairs.append((uriEncode(name, keepingSlash: false), uriEncode(value, keepingSlash: false)))
        }
        // Byte order, as AWS sorts: the encoded forms are ASCII, so String's order is byte order here.
        pairs.sort { $0.name != $1.name ? $0.name < $1.name : $0.value < $1.value }
        return pairs.map { "\($0.name)=\($0.value)" }.joined(separator: "&")
    }

    /// Trims a header value and collapses each run of spaces and tabs inside it to one space. Works on UTF-8 bytes
    /// and returns the value itself when there is nothing to do (the usual case): every signed request pays this.
    static func normalizedHeaderValue(_ value: String) -> String {
        func isBlank(_ byte: UInt8) -> Bool { byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        func isTrimmed(_ byte: UInt8) -> Bool { isBlank(byte) || byte == UInt8(ascii: "\r") }
        let bytes = value.utf8
        guard let first = bytes.firstIndex(where: { !isTrimmed($0) }), let last = bytes.lastIndex(where: { !isTrimmed($0) })
        else { return "" }
        let inner = bytes[first...last]
        var previous: UInt8 = 0
        let needsCollapsing = inner.contains { byte in
            defer { previous = byte }
            return byte == UInt8(ascii: "\t") || (byte == UInt8(ascii: " ") && previous == UInt8(ascii: " "))
        }
        if !needsCollapsing {
            return first == bytes.startIndex && last == bytes.index(before: bytes.endIndex) ? value : String(Substring(inner))
        }
        var out: [UInt8] = []
        out.reserveCapacity(inner.count)
        var pendingSpace = false
        for byte in inner {
            if isBlank(byte) {
                pendingSpace = true
                continue
            }
            if pendingSpace {
                out.append(UInt8(ascii: " "))
                pendingSpace = false
            }
            out.append(byte)
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `name:value\n` for each signed header in the order given, repeated headers joined by `,`; headers not signed
    /// are not looked at.
    /// - Returns: the header block, or the first signed header the request lacks.
    static func canonicalHeaders(
        signedHeaders: [String], headers: [(name: String, value: String)]
    ) -> Result<String, MissingSignedHeader> {
        var valuesByName: [String: [String]] = [:]
        valuesByName.reserveCapacity(signedHeaders.count)
        for name in signedHeaders { valuesByName[name] = [] }
        for header in headers {
            let name = header.name.lowercased()
            valuesByName[name]?.append(normalizedHeaderValue(header.value))
        }
        var out = ""
        for name in signedHeaders {
            guard let values = valuesByName[name], !values.isEmpty else { return .failure(MissingSignedHeader(name: name)) }
            out += name + ":" + values.joined(separator: ",") + "\n"
        }
        return .success(out)
    }

    struct MissingSignedHeader: Error {
        let name: String
    }

    static func canonicalRequest(
        method: String, canonicalURI: String, canonicalQuery: String, canonicalHeaders: String,
        signedHeaders: [String], payloadHash: String
    ) -> String {
        [method, canonicalURI, canonicalQuery, canonicalHeaders, signedHeaders.joined(separator: ";"), payloadHash]
            .joined(separator: "\n")
    }

    static func scope(dateStamp: some StringProtocol, region: String) -> String {
        "\(dateStamp)/\(region)/\(service)/\(terminator)"
    }

    static func stringToSign(amzDate: String, scope: String, canonicalRequest: String) -> String {
        [algorithm, amzDate, scope, sha256Hex(canonicalRequest.utf8)].joined(separator: "\n")
    }

    /// HMAC chain `AWS4`+secret → date → region → service → `aws4_request`.
    static func signingKey(secretAccessKey: String, dateStamp: some StringProtocol, region: String) -> SymmetricKey {
        var key = SymmetricKey(data: Array(("AWS4" + secretAccessKey).utf8))
        for step in [String(dateStamp), region, service, terminator] {
            key = SymmetricKey(data: Array(HMAC<SHA256>.authenticationCode(for: Array(step.utf8), using: key)))
        }
        return key
    }

    /// Hex HMAC-SHA256 of `text`.
    static func signature(_ text: String, key: SymmetricKey) -> String {
        hexString(HMAC<SHA256>.authenticationCode(for: Array(text.utf8), using: key))
    }

    static func sha256Hex(_ bytes: some Sequence<UInt8>) -> String {
        hexString(SHA256.hash(data: Array(bytes)))
    }

    /// Compares two signatures in time that depends only on their lengths, so a forger learns nothing from timing.
    static func constantTimeEquals(_ lhs: String, _ rhs: String) -> Bool {
        let left = Array(lhs.utf8)
        let right = Array(rhs.utf8)
        guard left.count == right.count else { return false }
        var difference: UInt8 = 0
        for index in left.indices {
            difference |= left[index] ^ right[index]
        }
        return difference == 0
    }

    /// Whether `text` is 64 hex digits.
    static func isSHA256Hex(_ text: some StringProtocol) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { hexValue($0) != nil }
    }
}

private func hexValue(_ character: UInt8) -> UInt8? {
    switch character {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): character - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): character - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): character - UInt8(ascii: "A") + 10
    default: nil
    }
}

/// S3's URI encoding (every byte but `A-Z a-z 0-9 - . _ ~` as `%XX`, upper-case hex), as signatures and
/// `encoding-type=url` listings use it; `/` kept when `keepingSlash`.
public enum S3URIEncoding {
    public static func encode(_ text: String, keepingSlash: Bool) -> String {
        SigV4Canonical.uriEncode(text.utf8, keepingSlash: keepingSlash)
    }
}
