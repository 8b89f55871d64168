import DFSClient
import DFSCore

/// Why an upload was refused or failed; mapped to HTTP in `HTTP/APIError+Mapping.swift`.
enum UploadError: Error, Sendable {
    case missingFileField
    /// A raw body without `?filename=`.
    case missingFilename
    case invalidFilename(String)
    case malformedMultipart(String)
    case payloadTooLarge(limit: Int64)
    case digestMismatch(expected: SHA256Digest, actual: SHA256Digest)
    case invalidDigestHeader(String)
    case quorumNotReached(required: Int, verified: [NodeID], failures: [String])
    case bodyInterrupted(String)
    /// The primary stopped reading or answering and the body was too large to keep for sending it again;
    /// `attempts` are the nodes tried and why.
    case primaryStalled(attempts: [String])
    /// No node has room for the file (full, below its length in free bytes, or refusing for lack of space).
    case noRoom(attempts: [String])
    /// The primary ran out of space while the body streamed, and the body was too large to keep for another node.
    case outOfSpaceMidBody(attempts: [String])
}

/// No node could take the request; `attempts` are the nodes tried and why, so the 503 can say who was asked.
struct NoNodeAvailable: Error, Sendable {
    var action: String
    var attempts: [String]
}

/// Errors of reads and deletes.
enum FileAccessError: Error, Sendable {
    case fileNotFound(FileKey)
    case rangeNotSatisfiable(size: Int64)
}
