import DFSCore

/// What a node's answer to `GET /blobs/{key}` says about its body, checked against what was asked before any byte
/// of it is passed on: a `Range` request must get exactly that range back (a node that ignored it would shift every
/// byte), and every length the answer states must agree. The HTTP framing decides how the body may end: a body
/// framed by `Content-Length` is complete or broken, while a chunked one may also end cleanly at a block boundary
/// before a block the node found damaged.
struct BlobAnswerFraming: Equatable, Sendable {
    struct Problem: Error, Equatable {
        let reason: String
    }

    /// The blob's whole size.
    let totalSize: Int64
    /// The part of the blob the body carries, for a `206`.
    let servedRange: ByteRange?
    /// Bytes the body carries when complete.
    let bodyLength: Int64
    let mayEndBeforeDamage: Bool

    /// - Parameters:
    ///   - partial: the status is `206 Partial Content` (else `200`).
    ///   - declaredLength: the node's `x-dfs-content-length`, which it sends whatever the framing.
    ///   - httpLength: the HTTP `Content-Length`, absent from a chunked answer.
    init(partial: Bool, requested: ByteRange?, contentRange: String?, declaredLength: String?, httpLength: String?) throws {
        if partial {
            guard let contentRange, let parsed = Self.parseContentRange(contentRange) else {
                throw Problem(reason: "206 without a valid Content-Range")
            }
            guard let requested, parsed.range == requested else {
                throw Problem(
                    reason: "it sent \(contentRange) for \(requested.map { $0.headerValue } ?? "the whole blob")")
            }
            totalSize = parsed.total
            servedRange = parsed.range
            bodyLength = parsed.range.length
        } else {
            guard let length = (declaredLength ?? httpLength).flatMap({ Int64($0) }), length >= 0 else {
                throw Problem(reason: "200 without \(NodeProtocol.contentLengthHeader)")
            }
            // A whole blob for a range would put its first byte where the range's first byte belongs.
            if let requested { throw Problem(reason: "it sent the whole blob (200) for \(requested.headerValue)") }
            totalSize = length
            servedRange = nil
            bodyLength = length
        }
        for (name, value) in [(NodeProtocol.contentLengthHeader, declaredLength), ("Content-Length", httpLength)] {
            guard let value else { continue }
            guard Int64(value) == bodyLength else {
                throw Problem(reason: "its \(name) \(value) is not the \(bodyLength) bytes it serves")
            }
        }
        mayEndBeforeDamage = httpLength == nil
    }

    /// "bytes 0-99/1000".
    static func parseContentRange(_ header: String) -> (range: ByteRange, total: Int64)? {
        guard header.hasPrefix("bytes ") else { return nil }
        let halves = header.dropFirst(6).split(separator: "/")
        guard halves.count == 2, let total = Int64(halves[1]) else { return nil }
        let bounds = halves[0].split(separator: "-")
        guard bounds.count == 2, let first = Int64(bounds[0]), let last = Int64(bounds[1]), first >= 0, last >= first,
            last < total
        else { return nil }
        return (ByteRange(first: first, last: last), total)
    }
}
