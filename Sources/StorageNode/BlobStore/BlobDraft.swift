import DFSCore
import Glibc
import NIOCore

/// One blob being received into `tmp/`: the open temp file and the digests (whole and per block) of the bytes so far.
///
/// `@unchecked Sendable`: `BlobStore.put` hands a draft to one thread-pool job at a time, its commit batch
/// included, and awaits each before starting the next, so its mutable state is never touched concurrently.
final class BlobDraft: @unchecked Sendable {
    let path: String
    private var descriptor: Int32?
    private var isSealed = false
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
        guard let descriptor, !isSealed else { preconditionFailure("append after seal or discard") }
        hasher.update(chunk)
        try POSIXFile.writeAll(descriptor, chunk, path: path)
    }

    /// Records the digest and flushes the data to stable storage, then closes the file, ready to be renamed into
    /// place. With `syncData: false` the file stays open with its writeback started, for `completeSync()` in the
    /// commit batch, where one journal commit then covers many drafts.
    /// - Parameter digest: the digest to record in the file's extended attribute first, so the same fsync makes
    ///   bytes and digest durable together (nil: the caller keeps the digest elsewhere).
    func seal(digestAttribute digest: SHA256Digest? = nil, syncData: Bool = true) throws {
        guard let descriptor, !isSealed else { preconditionFailure("seal twice") }
        isSealed = true
        if let digest { try POSIXFile.setAttribute(BlobLayout.digestAttribute, to: digest.hex, on: descriptor, path: path) }
        if syncData {
            try completeSync()
        } else {
            POSIXFile.startWriteback(descriptor)
        }
    }

    /// Flushes a sealed draft's data and attributes (fsync) and closes it; nothing to do if that was done already.
    func completeSync() throws {
        guard let descriptor else { return }
        precondition(isSealed, "sync before seal")
        self.descriptor = nil
        defer { close(descriptor) }
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
