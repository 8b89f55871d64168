import Foundation
import HTTPTypes
import Hummingbird
import S3Protocol

/// What one S3 request addresses and asks, read off the wire once: path-style (`/bucket/key`) or, with
/// `--s3-domain`, virtual-host style (`bucket.domain/key`); the query's sub-resources and parameters decoded.
struct S3Request: Sendable {
    var method: HTTPRequest.Method
    var bucket: String?
    var key: String?
    /// Decoded query parameters; a bare `?uploads` is `"uploads": ""`.
    var query: [String: String]
    /// The path and query exactly as sent: what the signature covers.
    var rawPath: String
    var rawQuery: String?
    var headers: HTTPFields
    /// The `Host` header (HTTP/1.1 moves it into the request's authority).
    var host: String?
    /// Whether the host named the bucket (virtual-host style).
    var isVirtualHosted = false

    init(_ request: Request, domain: String?) throws {
        method = request.method
        headers = request.headers
        host = request.head.authority
        let target = request.head.path ?? "/"
        if let mark = target.firstIndex(of: "?") {
            rawPath = String(target[..<mark])
            rawQuery = String(target[target.index(after: mark)...])
        } else {
            rawPath = target
            rawQuery = nil
        }
        query = [:]
        for pair in (rawQuery ?? "").split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = S3PercentDecoding.decode(parts[0]) else {
                throw S3Error.invalidArgument("a query name is not valid percent-encoding")
            }
            let value = parts.count > 1 ? S3PercentDecoding.decode(parts[1]) : ""
            guard let value else { throw S3Error.invalidArgument("the query value of \(name) is not valid percent-encoding") }
            query[name] = value
        }
        guard let path = S3PercentDecoding.decode(Substring(rawPath)) else {
            throw S3Error.invalidArgument("the path is not valid percent-encoding")
        }
        var rest = Substring(path.drop { $0 == "/" })
        if let domain, let host, let hostBucket = Self.bucket(fromHost: host, domain: domain) {
            bucket = hostBucket
            isVirtualHosted = true
        } else if !rest.isEmpty {
            let end = rest.firstIndex(of: "/") ?? rest.endIndex
            bucket = String(rest[..<end])
            rest = end == rest.endIndex ? "" : rest[rest.index(after: end)...]
        }
        // `/bucket/` names the bucket, not an object with an empty key.
        if bucket != nil, !rest.isEmpty { key = String(rest) }
        if let key, key.utf8.count > 1024 { throw S3Error.keyTooLong() }
    }

    /// `bucket.s3.example.com` with domain `s3.example.com` is `bucket`.
    static func bucket(fromHost host: String, domain: String) -> String? {
        let name = host.split(separator: ":").first.map(String.init) ?? host
        guard name.count > domain.count + 1, name.lowercased().hasSuffix("." + domain.lowercased()) else { return nil }
        return String(name.dropLast(domain.count + 1))
    }

    func header(_ name: String) -> String? {
        guard let field = HTTPField.Name(name) else { return nil }
        return headers[field]
    }

    func has(_ subresource: String) -> Bool { query[subresource] != nil }

    /// The request as its signature covers it: the raw target, every header (`Host` included), and the bucket when
    /// the host named it.
    var signed: S3SignedRequest {
        var fields = headers.map { (name: $0.name.canonicalName, value: $0.value) }
        if let host { fields.append((name: "host", value: host)) }
        return S3SignedRequest(
            method: method.rawValue, rawPath: rawPath, rawQuery: rawQuery, headers: fields,
            virtualHostedBucket: isVirtualHosted ? bucket : nil)
    }

    /// Whether the request changes anything (refused for read-only keys).
    var isWrite: Bool { method != .get && method != .head }

    var resource: String { "/" + [bucket, key].compactMap { $0 }.joined(separator: "/") }
}

/// Percent-decoding of path and query parts as S3 clients send them (`+` is a plus sign, not a space).
enum S3PercentDecoding {
    static func decode(_ text: Substring) -> String? {
        guard text.contains("%") else { return String(text) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else { return nil }
            bytes.append(high << 4 | low)
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
