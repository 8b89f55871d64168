import DFSCore
import Foundation
import HTTPTypes
import Hummingbird

/// What a `PUT /blobs/{key}` asks for, validated from the request before any byte touches the disk.
struct BlobPutInput: Sendable, Equatable {
    var key: FileKey
    var expectedDigest: SHA256Digest?
    var targets: [NodeEndpoint]
    /// `Content-Length`, when the client declared one (absent for chunked bodies).
    var contentLength: Int64?

    init(key: FileKey, expectedDigest: SHA256Digest? = nil, targets: [NodeEndpoint] = [], contentLength: Int64? = nil) {
        self.key = key
        self.expectedDigest = expectedDigest
        self.targets = targets
        self.contentLength = contentLength
    }

    init(parsing request: Request, context: some RequestContext) throws {
        let key = try BlobKeyParameter.key(in: context)
        var expectedDigest: SHA256Digest?
        if let header = request.headers[.dfsExpectedDigest] {
            guard let digest = SHA256Digest(hex: header.trimmingCharacters(in: .whitespaces)) else {
                throw APIError.badRequest("invalid_digest", "\(NodeProtocol.expectedDigestHeader) must be 64 hex digits.")
            }
            expectedDigest = digest
        }
        var targets: [NodeEndpoint] = []
        if let header = request.headers[.dfsReplicateTo], !header.isEmpty {
            do {
                targets = try NodeProtocol.decodeTargets(header)
            } catch {
                throw APIError.badRequest("invalid_replication_targets", "\(NodeProtocol.replicateToHeader): \(error).")
            }
        }
        var contentLength: Int64?
        if let header = request.headers[.contentLength] {
            guard let length = Int64(header), length >= 0 else {
                throw APIError.badRequest("invalid_content_length", "Content-Length must be a byte count.")
            }
            contentLength = length
        }
        self.init(key: key, expectedDigest: expectedDigest, targets: targets, contentLength: contentLength)
    }
}

/// The `{key}` path parameter of the blob routes.
enum BlobKeyParameter {
    static let name = "key"
    static let route: RouterPath = "/blobs/:key"

    /// The validated key; refused (400 `invalid_key`) before anything touches the file system.
    static func key(in context: some RequestContext) throws -> FileKey {
        try FileKey(validating: context.parameters.get(name) ?? "")
    }
}
