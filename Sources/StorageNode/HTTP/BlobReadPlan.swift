import DFSCore
import DFSServer
import HTTPTypes

/// Status, headers and byte span of a GET or HEAD answer for one blob, honouring a single `Range`.
struct BlobReadPlan: Equatable, Sendable {
    var status: HTTPResponse.Status
    var headers: HTTPFields
    /// First byte the body carries.
    var offset: Int64
    /// Bytes the body carries (its `Content-Length`).
    var length: Int64

    /// - Throws: `APIError` 416 `range_not_satisfiable` (with `Content-Range: bytes */size`).
    init(metadata: BlobMetadata, rangeHeader: String?) throws {
        let size = metadata.sizeBytes
        var headers: HTTPFields = [
            .contentType: "application/octet-stream",
            .acceptRanges: "bytes",
        ]
        if let digest = metadata.digest {
            headers[.dfsChecksum] = digest.hex
            headers[.eTag] = "\"\(digest.hex)\""
        }
        switch ByteRange.parse(rangeHeader, size: size) {
        case .whole:
            status = .ok
            offset = 0
            length = size
        case .partial(let range):
            status = .partialContent
            offset = range.first
            length = range.length
            headers[.contentRange] = range.contentRange(totalSize: size)
        case .unsatisfiable:
            throw APIError(
                status: .rangeNotSatisfiable, code: "range_not_satisfiable",
                message: "The requested range lies outside the blob's \(size) bytes.",
                headers: [.contentRange: "bytes */\(size)"]
            )
        }
        headers[.contentLength] = String(length)
        self.headers = headers
    }
}
