import CFileSystem
import Glibc
import NIOCore

/// The few blocking system calls the blob store needs, throwing `BlobStoreError` with errno.
///
/// Plain POSIX rather than Foundation: durability depends on exactly which descriptor is
/// `fsync`ed and when, and these calls make that explicit. Callers run them on the I/O thread pool.
enum POSIXFile {
    static func openForReading(_ path: String) throws -> Int32 {
        let fd = retryingOnInterrupt { open(path, O_RDONLY | O_CLOEXEC) }
        guard fd >= 0 else { throw BlobStoreError.fromErrno("open", path) }
        return fd
    }

    /// Creates a new file; fails if the name exists, so two writers can never share a temp file.
    static func createExclusive(_ path: String) throws -> Int32 {
        let fd = retryingOnInterrupt { open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644) }
        guard fd >= 0 else { throw BlobStoreError.fromErrno("create", path) }
        return fd
    }

    /// Writes every readable byte of `buffer`, looping over short writes.
    static func writeAll(_ fd: Int32, _ buffer: ByteBuffer, path: String) throws {
        try buffer.withUnsafeReadableBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    throw BlobStoreError.fromErrno("write", path)
                }
                offset += written
            }
        }
    }

    static func sync(_ fd: Int32, path: String) throws {
        guard retryingOnInterrupt({ fsync(fd) }) == 0 else { throw BlobStoreError.fromErrno("fsync", path) }
    }

    /// Starts writing a file's dirty pages back without waiting (a hint: only a later fsync makes them durable).
    /// On ext4 this also allocates the file's blocks now, so that one journal commit covers the allocations of every
    /// file of a batch whose writeback was started before it.
    static func startWriteback(_ fd: Int32) {
        _ = retryingOnInterrupt { dfs_start_writeback(fd) }
    }

    /// Makes a directory's entries (a rename, an unlink, a new child) durable.
    static func syncDirectory(_ path: String) throws {
        let fd = retryingOnInterrupt { open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        guard fd >= 0 else { throw BlobStoreError.fromErrno("open directory", path) }
        defer { close(fd) }
        try sync(fd, path: path)
    }

    /// Writes a small file and `fsync`s it before returning.
    static func writeDurably(_ text: String, to path: String) throws {
        try writeDurably(ByteBuffer(string: text), to: path)
    }

    /// Writes a new file holding `bytes` and `fsync`s it before returning; nothing is left behind on failure.
    static func writeDurably(_ bytes: ByteBuffer, to path: String) throws {
        let fd = try createExclusive(path)
        do {
            try writeAll(fd, bytes, path: path)
            try sync(fd, path: path)
        } catch {
            close(fd)
            unlink(path)
            throw error
        }
        close(fd)
    }

    /// Reads up to `length` bytes at `offset` (fewer only at end of file).
    static func read(_ fd: Int32, offset: Int64, length: Int, path: String) throws -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: length)
        while buffer.readableBytes < length {
            let wanted = length - buffer.readableBytes
            let position = off_t(offset) + off_t(buffer.readableBytes)
            let count = try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: wanted) { space in
                while true {
                    let n = pread(fd, space.baseAddress!, wanted, position)
                    if n >= 0 { return n }
                    if errno != EINTR { throw BlobStoreError.fromErrno("read", path) }
                }
            }
            if count == 0 { break }  // end of file
        }
        return buffer
    }

    /// Sets an extended attribute on an open file. Throws `BlobStoreError.systemCall` with ENOTSUP (or EOPNOTSUPP)
    /// where the file system keeps none.
    static func setAttribute(_ name: String, to value: String, on fd: Int32, path: String) throws {
        let bytes = Array(value.utf8)
        guard retryingOnInterrupt({ fsetxattr(fd, name, bytes, bytes.count, 0) }) == 0 else {
            throw BlobStoreError.fromErrno("fsetxattr \(name)", path)
        }
    }

    /// An extended attribute of an open file as text, nil if the file has none of that name (or the file system
    /// keeps none).
    static func attribute(_ name: String, of fd: Int32, path: String, limit: Int = 256) throws -> String? {
        try attribute(name, path: path, limit: limit) { fgetxattr(fd, name, $0, limit) }
    }

    /// An extended attribute of the file at `path`, nil if it has none of that name (or the file system keeps none).
    static func attribute(_ name: String, atPath path: String, limit: Int = 256) throws -> String? {
        try attribute(name, path: path, limit: limit) { getxattr(path, name, $0, limit) }
    }

    private static func attribute(
        _ name: String, path: String, limit: Int, get: (UnsafeMutableRawPointer) -> Int
    ) throws -> String? {
        var bytes = [UInt8](repeating: 0, count: limit)
        let count = bytes.withUnsafeMutableBytes { get($0.baseAddress!) }
        guard count >= 0 else {
            if errno == ENODATA || errno == ENOTSUP || errno == EOPNOTSUPP { return nil }
            throw BlobStoreError.fromErrno("fgetxattr \(name)", path)
        }
        return String(decoding: bytes[0..<count], as: UTF8.self)
    }

    /// Reads a small whole file as text, or nil if it does not exist.
    static func readSmallFile(_ path: String, limit: Int = 4096) throws -> String? {
        try readFile(path, limit: limit).map { String(buffer: $0) }
    }

    /// Reads up to `limit` bytes of a file, or nil if it does not exist.
    static func readFile(_ path: String, limit: Int) throws -> ByteBuffer? {
        let fd = retryingOnInterrupt { open(path, O_RDONLY | O_CLOEXEC) }
        if fd < 0 {
            if errno == ENOENT { return nil }
            throw BlobStoreError.fromErrno("open", path)
        }
        defer { close(fd) }
        return try read(fd, offset: 0, length: limit, path: path)
    }

    struct Status {
        var sizeBytes: Int64
        var modifiedAt: Double
        var isRegularFile: Bool
        /// Device and inode: the same pair means the same file, whatever name it has now.
        var identity: [UInt64]
    }

    static func status(ofDescriptor fd: Int32, path: String) throws -> Status {
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw BlobStoreError.fromErrno("fstat", path) }
        return Status(info)
    }

    /// The file's status, or nil if it does not exist.
    static func status(of path: String) throws -> Status? {
        var info = stat()
        guard stat(path, &info) == 0 else {
            if errno == ENOENT { return nil }
            throw BlobStoreError.fromErrno("stat", path)
        }
        return Status(info)
    }

    static func rename(_ source: String, to destination: String) throws {
        guard Glibc.rename(source, destination) == 0 else {
            throw BlobStoreError.fromErrno("rename to \(destination)", source)
        }
    }

    /// Removes a file; returns false if it was already absent.
    @discardableResult
    static func removeIfPresent(_ path: String) throws -> Bool {
        guard unlink(path) == 0 else {
            if errno == ENOENT { return false }
            throw BlobStoreError.fromErrno("unlink", path)
        }
        return true
    }

    /// Creates one directory level; returns true if it was created now (its parent then needs an fsync).
    @discardableResult
    static func makeDirectory(_ path: String) throws -> Bool {
        guard mkdir(path, 0o755) == 0 else {
            if errno == EEXIST { return false }
            throw BlobStoreError.fromErrno("mkdir", path)
        }
        return true
    }

    /// Creates a directory and any missing parents, like `mkdir -p`.
    static func makeDirectories(_ path: String) throws {
        var current = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            current += "/" + component
            try makeDirectory(current)
        }
    }

    /// The names in a directory, without `.` and `..`, in no particular order.
    static func listDirectory(_ path: String) throws -> [String] {
        guard let dir = opendir(path) else { throw BlobStoreError.fromErrno("opendir", path) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// Bytes an unprivileged writer may still use on the file system holding `path`.
    static func availableBytes(at path: String) throws -> Int64 {
        try space(at: path).available
    }

    /// Size, used and available bytes of the file system holding `path`.
    static func space(at path: String) throws -> (total: Int64, used: Int64, available: Int64) {
        var info = statvfs()
        guard statvfs(path, &info) == 0 else { throw BlobStoreError.fromErrno("statvfs", path) }
        let unit = Int64(info.f_frsize)
        return (Int64(info.f_blocks) * unit, Int64(info.f_blocks - info.f_bfree) * unit, Int64(info.f_bavail) * unit)
    }

    private static func retryingOnInterrupt(_ call: () -> Int32) -> Int32 {
        while true {
            let result = call()
            if result >= 0 || errno != EINTR { return result }
        }
    }
}

extension POSIXFile.Status {
    init(_ info: stat) {
        self.sizeBytes = Int64(info.st_size)
        self.modifiedAt = Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9
        self.isRegularFile = (info.st_mode & S_IFMT) == S_IFREG
        self.identity = [UInt64(info.st_dev), UInt64(info.st_ino)]
    }
}
