import DFSCore
import Glibc
import NIOCore

/// One blob being received into `tmp/`: the open temp file and the digests (whole and per block) of the bytes so far.
///
/// `@unchecked Sendable`: `BlobStore.put` hands a draft to one thread-pool job at a time and awaits
/// each job before starting the next, so its mutable state is never touched concurrently.
final class BlobDraft: @unchecked Sendable {
    let path: String
    private var descriptor: Int32?
    private var hasher = BlobHasher()

    /// Creates the temp file (exclusively, so no two drafts share one).
    init(in layout: BlobLayout) throws {
        let path = layout.newTemporaryPath()
        self.descriptor = try POSIXFile.createExclusive(path)
        self.path = path
    }

    var sizeBytes: Int64 { hasher.byteCount }
    /// The digests of every byte appended so far.
    var digests: BlobDigests { hasher.finalize() }

    /// Hashes and writes one chunk, in arrival order.
    func append(_ chunk: ByteBuffer) throws {
        guard let descriptor else { preconditionFailure("append after seal or discard") }
        hasher.update(chunk)
        try POSIXFile.writeAll(descriptor, chunk, path: path)
    }

    /// Flushes the data to stable storage and closes the file; it is then ready to be renamed into place.
    /// - Parameter digestAttribute: the digest to record in the file's extended attribute first, so the same fsync
    ///   makes bytes and digest durable together (nil: the caller keeps the digest elsewhere).
    func seal(digestAttribute digest: SHA256Digest? = nil) throws {
        guard let descriptor else { preconditionFailure("seal twice") }
        self.descriptor = nil
        defer { close(descriptor) }
        if let digest { try POSIXFile.setAttribute(BlobLayout.digestAttribute, to: digest.hex, on: descriptor, path: path) }
        try POSIXFile.sync(descriptor, path: path)
    }

    /// Closes and removes the temp file; safe to call in any state (a renamed draft is simply gone).
    func discard() {
        if let descriptor {
            close(descriptor)
            self.descriptor = nil
        }
        _ = try? POSIXFile.removeIfPresent(path)
    }
}
