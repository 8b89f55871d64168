import DFSCore
import Foundation
import Synchronization

/// Where a node keeps things under its data directory.
///
/// `blobs/<first two characters of the key>/<key>` holds the bytes, and its extended attribute `user.dfs.sha256`
/// the digest computed while writing (on a file system without extended attributes, and for blobs written before
/// they were used, `<key>.sha256` beside it does); a blob of more than one block has its block digests in
/// `<key>.blocks` beside it (`BlockTableFile`); `tmp/` (same file system, so `rename` is atomic) holds writes in
/// progress. Two-character shards keep directories small and make key order equal shard order, which
/// the inventory relies on.
struct BlobLayout: Sendable {
    static let digestSuffix = ".sha256"
    static let blocksSuffix = ".blocks"
    /// The extended attribute holding a blob's SHA-256 as 64 hex digits.
    static let digestAttribute = "user.dfs.sha256"

    /// Absolute path of the data directory.
    let root: String

    var blobsDirectory: String { root + "/blobs" }
    var temporaryDirectory: String { root + "/tmp" }

    static func shardName(of key: FileKey) -> String { String(key.rawValue.prefix(2)) }

    func shardDirectory(for key: FileKey) -> String { blobsDirectory + "/" + Self.shardName(of: key) }
    func blobPath(for key: FileKey) -> String { shardDirectory(for: key) + "/" + key.rawValue }
    func digestPath(for key: FileKey) -> String { blobPath(for: key) + Self.digestSuffix }
    func blocksPath(for key: FileKey) -> String { blobPath(for: key) + Self.blocksSuffix }

    /// A fresh, never reused name in `tmp/`: this process's random prefix and a counter (a UUID each time cost an
    /// open, read and close of /dev/urandom per write). Drafts are created exclusively, so a clash could only fail
    /// a write, never mix two.
    func newTemporaryPath() -> String {
        let serial = Self.temporarySerial.add(1, ordering: .relaxed).newValue
        return temporaryDirectory + "/" + Self.processPrefix + "-" + String(serial, radix: 16) + ".tmp"
    }

    private static let processPrefix = UUID().uuidString.lowercased()
    private static let temporarySerial = Atomic<UInt64>(0)

    /// Refuses keys whose blob file would be another key's sidecar (`k.sha256` and `k.blocks` belong to `k`).
    static func checkStorable(_ key: FileKey) throws {
        if isSidecarName(key.rawValue) { throw BlobStoreError.reservedKey(key) }
    }

    static func isSidecarName(_ name: String) -> Bool { name.hasSuffix(digestSuffix) || name.hasSuffix(blocksSuffix) }

    /// The key a directory entry of a shard stands for, or nil for sidecar files and foreign names.
    static func key(fromEntry name: String) -> FileKey? {
        guard !isSidecarName(name), let key = try? FileKey(validating: name) else { return nil }
        return key
    }

    /// Whether a directory entry of `blobs/` can be a shard (anything else there is ignored).
    static func isShardName(_ name: String) -> Bool {
        (1...2).contains(name.utf8.count) && (try? FileKey(validating: name)) != nil
    }
}
