import DFSCore
import Glibc
import NIOCore
import NIOPosix

/// What the store knows about one blob without reading it.
struct BlobMetadata: Sendable, Equatable {
    var sizeBytes: Int64
    /// The digest recorded when the blob was written; nil if its sidecar is missing.
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
    private let descriptor: Int32
    private let path: String
    private let threads: NIOThreadPool
    /// The blob's first bytes, read while opening it (`BlobStore.openForReading(_:readAhead:)`); nil if none were.
    let head: ByteBuffer?

    init(key: FileKey, metadata: BlobMetadata, descriptor: Int32, path: String, threads: NIOThreadPool, head: ByteBuffer? = nil) {
        self.key = key
        self.metadata = metadata
        self.descriptor = descriptor
        self.path = path
        self.threads = threads
        self.head = head
    }

    deinit { close(descriptor) }

    /// Reads up to `length` bytes at `offset` off the event loops; fewer only at end of file. Served from `head`
    /// without a trip to the I/O threads when it covers the request.
    func read(offset: Int64, length: Int) async throws -> ByteBuffer {
        if let head, offset == 0, length <= head.readableBytes {
            return head.getSlice(at: head.readerIndex, length: length)!
        }
        // The closure holds `self`, which keeps the descriptor open until the read is done.
        return try await threads.runIfActive { try POSIXFile.read(self.descriptor, offset: offset, length: length, path: self.path) }
    }
}
