import DFSCore
import Glibc
import NIOCore
import NIOPosix

/// What the store knows about one blob without reading it.
struct BlobMetadata: Sendable, Equatable {
    var sizeBytes: Int64
    /// The digest recorded when the blob was written; nil if its attribute and sidecar are both missing.
    var digest: SHA256Digest?
    /// Seconds since 1970.
    var modifiedAt: Double
}

/// A blob opened for reading.
///
/// The descriptor pins the file that was current at open time, so a concurrent overwrite or delete
/// never tears a read in progress. It is closed in `deinit`: a response body that is never written
/// (the client left before the head went out) still releases it once the response is dropped.
final class OpenBlob: Sendable {
    let key: FileKey
    let metadata: BlobMetadata
    /// Device and inode of the open file, to tell whether the name still points at it.
    let identity: [UInt64]
    private let descriptor: Int32
    private let path: String
    private let threads: NIOThreadPool

    init(key: FileKey, metadata: BlobMetadata, identity: [UInt64], descriptor: Int32, path: String, threads: NIOThreadPool) {
        self.key = key
        self.metadata = metadata
        self.identity = identity
        self.descriptor = descriptor
        self.path = path
        self.threads = threads
    }

    deinit { close(descriptor) }

    /// Reads up to `length` bytes at `offset` off the event loops; fewer only at end of file.
    func read(offset: Int64, length: Int) async throws -> ByteBuffer {
        // The closure holds `self`, which keeps the descriptor open until the read is done.
        try await threads.runIfActive { try POSIXFile.read(self.descriptor, offset: offset, length: length, path: self.path) }
    }

    /// Reads exactly `length` bytes at `offset`; call on the I/O threads. A short read means the file shrank under
    /// us (renames never truncate an open file, so only outside damage does that).
    func readExactly(offset: Int64, length: Int) throws -> ByteBuffer {
        let buffer = try POSIXFile.read(descriptor, offset: offset, length: length, path: path)
        guard buffer.readableBytes == length else {
            throw BlobStoreError.blobCorrupt(key, reason: "the file holds fewer bytes than its size")
        }
        return buffer
    }
}
