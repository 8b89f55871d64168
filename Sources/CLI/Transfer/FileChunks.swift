#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
import DFSCore
import NIOCore

/// A local file read front to back in fixed-size `ByteBuffer` chunks, one chunk in memory at a time.
///
/// Reads are blocking `read(2)` calls on the calling task: a local disk answers in microseconds and the
/// CLI has nothing else to do meanwhile. Each iteration opens the file anew (an HTTP client may restart a
/// body), and `onChunk` sees every chunk as it is handed on (progress, hashing).
struct FileChunks: AsyncSequence, Sendable {
    typealias Element = ByteBuffer

    let path: String
    var chunkSize = 256 << 10
    var onChunk: @Sendable (ByteBuffer) -> Void = { _ in }

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(reader: LocalFileReader(path: path), chunkSize: chunkSize, onChunk: onChunk)
    }

    struct AsyncIterator: AsyncIteratorProtocol {
        let reader: LocalFileReader
        let chunkSize: Int
        let onChunk: @Sendable (ByteBuffer) -> Void

        mutating func next() async throws -> ByteBuffer? {
            try Task.checkCancellation()
            guard let chunk = try reader.read(upTo: chunkSize) else { return nil }
            onChunk(chunk)
            return chunk
        }
    }
}

/// An open file descriptor closed when the last reference goes, so an abandoned upload leaks nothing.
final class LocalFileReader {
    let path: String
    private var descriptor: Int32 = -1
    private var isAtEnd = false

    init(path: String) {
        self.path = path
    }

    deinit {
        if descriptor >= 0 { close(descriptor) }
    }

    /// The next bytes, or nil at the end of the file.
    func read(upTo count: Int) throws -> ByteBuffer? {
        if isAtEnd { return nil }
        if descriptor < 0 {
            descriptor = open(path, O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else { throw LocalFileError.cannotRead(path, errno: errno) }
        }
        var buffer = ByteBufferAllocator().buffer(capacity: count)
        let readCount = try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { pointer in
            var result: Int
            repeat { result = systemRead(descriptor, pointer.baseAddress, count) } while result < 0 && errno == EINTR
            guard result >= 0 else { throw LocalFileError.cannotRead(path, errno: errno) }
            return result
        }
        if readCount == 0 {
            isAtEnd = true
            close(descriptor)
            descriptor = -1
            return nil
        }
        return buffer
    }

    /// SHA-256 and size of the whole file in one pass, reporting each chunk's length.
    static func digest(of path: String, onProgress: (Int) -> Void = { _ in }) throws -> (digest: SHA256Digest, size: Int64) {
        let reader = LocalFileReader(path: path)
        var hasher = StreamingSHA256()
        while let chunk = try reader.read(upTo: 1 << 20) {
            hasher.update(chunk)
            onProgress(chunk.readableBytes)
        }
        return (hasher.finalize(), hasher.byteCount)
    }
}

/// `read(2)`, named apart from `LocalFileReader.read(upTo:)`.
private func systemRead(_ descriptor: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int {
    read(descriptor, buffer, count)
}
