import DFSCore
import Glibc

/// Why the blob store refused or failed an operation.
enum BlobStoreError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The key is a valid `FileKey` but collides with the store's own naming (the digest sidecars).
    case reservedKey(FileKey)
    case blobNotFound(FileKey)
    /// The key was deleted while (or before) this put ran; its bytes were discarded.
    case deletedMeanwhile(FileKey)
    /// The bytes received hash to `actual`, not the `expected` digest the caller named; nothing was kept.
    case digestMismatch(expected: SHA256Digest, actual: SHA256Digest)
    /// The bytes received have block digests whose root differs from the one the caller named; nothing was kept.
    case blockRootMismatch(expected: SHA256Digest, actual: SHA256Digest)
    /// The stored copy cannot be served: a block no longer matches its digest, or the copy is not the one the caller
    /// recorded. Nothing of the failing block was sent.
    case blobCorrupt(FileKey, reason: String)
    /// ENOSPC / EDQUOT, or a declared size larger than the free space.
    case insufficientStorage(detail: String)
    /// The request body failed before its end (client gone, connection reset); nothing was kept.
    case incompleteBody(reason: String)
    /// Any other failed system call, with its errno.
    case systemCall(operation: String, path: String, code: Int32)

    var description: String {
        switch self {
        case .reservedKey(let key):
            return
                "key '\(key)' ends in '\(BlobLayout.digestSuffix)' or '\(BlobLayout.blocksSuffix)', which are reserved for digest files"
        case .blobNotFound(let key): return "blob '\(key)' not found"
        case .deletedMeanwhile(let key): return "blob '\(key)' was deleted; a put of it is refused"
        case .digestMismatch(let expected, let actual):
            return "received bytes hash to \(actual.hex), expected \(expected.hex)"
        case .blockRootMismatch(let expected, let actual):
            return "received bytes have block root \(actual.hex), expected \(expected.hex)"
        case .blobCorrupt(let key, let reason): return "blob '\(key)' is damaged: \(reason)"
        case .insufficientStorage(let detail): return "insufficient storage: \(detail)"
        case .incompleteBody(let reason): return "request body ended early: \(reason)"
        case .systemCall(let operation, let path, let code):
            return "\(operation) \(path) failed: \(String(cString: strerror(code)))"
        }
    }

    /// The error for the current `errno`; disk-full codes become `insufficientStorage` so callers answer 507.
    static func fromErrno(_ operation: String, _ path: String, code: Int32 = errno) -> BlobStoreError {
        if code == ENOSPC || code == EDQUOT {
            return .insufficientStorage(detail: "\(operation) \(path): \(String(cString: strerror(code)))")
        }
        return .systemCall(operation: operation, path: path, code: code)
    }
}
