import DFSCore
import DFSServer
import Foundation
import HTTPTypes
import Hummingbird

/// What a `PUT /blobs/{key}` asks for, validated from the request before any byte touches the disk.
struct BlobPutInput: Sendable, Equatable {
    var key: FileKey
    var expectedDigest: SHA256Digest?
    var expectedBlockRoot: SHA256Digest?
    var targets: [NodeEndpoint]
    /// `Content-Length`, when the client declared one (absent for chunked bodies).
    var contentLength: Int64?
    /// How long a replication target may make no progress before it is abandoned, when the caller asks for less
    /// than the node's own replication timeout.
    var replicaIdleLimit: Duration?

    init(
        key: FileKey, expectedDigest: SHA256Digest? = nil, expectedBlockRoot: SHA256Digest? = nil, targets: [NodeEndpoint] = [],
        contentLength: Int64? = nil, replicaIdleLimit: Duration? = nil
    ) {
        self.key = key
        self.expectedDigest = expectedDigest
        self.expectedBlockRoot = expectedBlockRoot
        self.targets = targets
        self.contentLength = contentLength
        self.replicaIdleLimit = replicaIdleLimit
    }

    init(parsing request: Request, context: some RequestContext) throws {
        let key = try BlobKeyParameter.key(in: context)
        let expectedDigest = try BlobExpectationHeaders.digest(request.headers, .dfsExpectedDigest)
        let expectedBlockRoot = try BlobExpectationHeaders.digest(request.headers, .dfsExpectedBlockRoot)
        var targets: [NodeEndpoint] = []
        if let header = request.headers[.dfsReplicateTo], !header.isEmpty {
            do {
                targets = try NodeProtocol.decodeTargets(header)
            } catch {
                throw APIError.badRequest("\(NodeProtocol.replicateToHeader): \(error).", code: "invalid_replication_targets")
            }
        }
        var contentLength: Int64?
        if let header = request.headers[.contentLength] {
            guard let length = Int64(header), length >= 0 else {
                throw APIError.badRequest("Content-Length must be a byte count.", code: "invalid_content_length")
            }
            contentLength = length
        }
        var replicaIdleLimit: Duration?
        if let header = request.headers[.dfsReplicaIdleLimit] {
            guard let milliseconds = Int64(header), milliseconds > 0 else {
                throw APIError.badRequest(
                    "\(NodeProtocol.replicaIdleLimitHeader) must be a positive number of milliseconds.",
                    code: "invalid_replica_idle_limit")
            }
            replicaIdleLimit = .milliseconds(milliseconds)
        }
        self.init(
            key: key, expectedDigest: expectedDigest, expectedBlockRoot: expectedBlockRoot, targets: targets,
            contentLength: contentLength, replicaIdleLimit: replicaIdleLimit)
    }
}

/// The `x-dfs-expected-*` headers a caller sends with what it recorded about a blob.
enum BlobExpectationHeaders {
    /// One digest header, nil when absent; refused (400) when it is not 64 hex digits.
    static func digest(_ headers: HTTPFields, _ name: HTTPField.Name) throws -> SHA256Digest? {
        guard let header = headers[name] else { return nil }
        guard let digest = SHA256Digest(hex: header.trimmedOfSpaces) else {
            throw APIError.badRequest("\(name) must be 64 hex digits.", code: "invalid_digest")
        }
        return digest
    }

    /// What a read or verification expects: nil without `x-dfs-expected-sha256`; a block root alone is refused.
    static func parse(_ headers: HTTPFields) throws -> BlobExpectation? {
        let root = try digest(headers, .dfsExpectedBlockRoot)
        guard let whole = try digest(headers, .dfsExpectedDigest) else {
            if root != nil {
                throw APIError.badRequest(
                    "\(NodeProtocol.expectedBlockRootHeader) needs \(NodeProtocol.expectedDigestHeader).", code: "invalid_digest")
            }
            return nil
        }
        return BlobExpectation(digest: whole, blockRoot: root)
    }
}

extension String {
    /// Without leading and trailing spaces and tabs (HTTP's optional whitespace), by the UTF-8 view: Foundation's
    /// `trimmingCharacters(in:)` was the costliest step of a small read.
    var trimmedOfSpaces: Substring {
        let isSpace = { (byte: UInt8) in byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        guard let first = utf8.firstIndex(where: { !isSpace($0) }), let last = utf8.lastIndex(where: { !isSpace($0) }) else {
            return self[endIndex...]
        }
        return self[first...last]
    }
}

/// The `{key}` path parameter of the blob routes.
enum BlobKeyParameter {
    static let name = "key"
    static let route: RouterPath = "/blobs/:key"
    static let verifyRoute: RouterPath = "/blobs/:key/verify"

    /// The validated key; refused (400 `invalid_key`) before anything touches the file system.
    static func key(in context: some RequestContext) throws -> FileKey {
        try FileKey(validating: context.parameters.get(name) ?? "")
    }
}
