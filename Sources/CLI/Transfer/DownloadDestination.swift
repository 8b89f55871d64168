#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
import Foundation
import NIOCore

/// Where `dfs get` writes: stdout, or a hidden temp file beside the target that is renamed into place only
/// after every byte arrived and checked out — an interrupted download never leaves a half file under the
/// real name.
final class DownloadDestination {
    enum Target: Equatable {
        case file(String)
        case standardOutput
    }

    let target: Target
    private var descriptor: Int32
    private let temporaryPath: String?
    private var isFinished = false

    /// Opens the temp file (or stdout). With `replacing` false an existing target is refused up front.
    init(_ target: Target, replacing: Bool) throws {
        self.target = target
        switch target {
        case .standardOutput:
            descriptor = STDOUT_FILENO
            temporaryPath = nil
        case .file(let path):
            if !replacing && FileManager.default.fileExists(atPath: path) { throw LocalFileError.alreadyExists(path) }
            let folder = (path as NSString).deletingLastPathComponent
            let name = (path as NSString).lastPathComponent
            let temporary = (folder.isEmpty ? "." : folder) + "/.\(name).dfs-\(UInt32.random(in: 0...UInt32.max)).part"
            descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            guard descriptor >= 0 else { throw LocalFileError.cannotWrite(temporary, errno: errno) }
            temporaryPath = temporary
        }
    }

    deinit {
        discard()
    }

    var displayName: String {
        switch target {
        case .standardOutput: return "stdout"
        case .file(let path): return path
        }
    }

    func write(_ buffer: ByteBuffer) throws {
        try buffer.withUnsafeReadableBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = systemWrite(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    throw LocalFileError.cannotWrite(temporaryPath ?? "stdout", errno: errno)
                }
                offset += written
            }
        }
    }

    /// Flushes the bytes to disk and gives the file its real name.
    func commit() throws {
        guard !isFinished else { return }
        isFinished = true
        guard case .file(let path) = target, let temporaryPath else { return }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else {
            unlink(temporaryPath)
            throw LocalFileError.cannotWrite(temporaryPath, errno: errno)
        }
        guard rename(temporaryPath, path) == 0 else {
            let code = errno
            unlink(temporaryPath)
            throw LocalFileError.cannotWrite(path, errno: code)
        }
    }

    /// Removes the temp file; nothing of the download remains (stdout cannot be taken back).
    func discard() {
        guard !isFinished else { return }
        isFinished = true
        guard let temporaryPath else { return }
        close(descriptor)
        unlink(temporaryPath)
    }
}

/// `write(2)`, named apart from `DownloadDestination.write(_:)`.
private func systemWrite(_ descriptor: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    write(descriptor, buffer, count)
}
