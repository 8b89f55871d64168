import DFSCore
import Glibc

extension BlobStore {
    /// Size, recorded digest and modification time of a blob, without opening it.
    func metadata(of key: FileKey) async throws -> BlobMetadata {
        try BlobLayout.checkStorable(key)
        let layout = self.layout
        return try await threads.runIfActive {
            guard let status = try POSIXFile.status(of: layout.blobPath(for: key)), status.isRegularFile else {
                throw BlobStoreError.blobNotFound(key)
            }
            let path = layout.blobPath(for: key)
            let digest = try Self.recordedDigest(of: key, in: layout) { try POSIXFile.attribute(BlobLayout.digestAttribute, atPath: path) }
            return BlobMetadata(sizeBytes: status.sizeBytes, digest: digest, modifiedAt: status.modifiedAt)
        }
    }

    /// Opens a blob for streaming reads; the caller reads it in chunks with `OpenBlob.read`.
    /// - Parameter readAhead: bytes to read from offset 0 in the same trip to the I/O threads (`OpenBlob.head`):
    ///   a small blob is then served without a second trip.
    func openForReading(_ key: FileKey, readAhead: Int = 0) async throws -> OpenBlob {
        try BlobLayout.checkStorable(key)
        let layout = self.layout
        let threads = self.threads
        let path = layout.blobPath(for: key)
        return try await threads.runIfActive {
            let descriptor: Int32
            do {
                descriptor = try POSIXFile.openForReading(path)
            } catch BlobStoreError.systemCall(_, _, let code) where code == ENOENT {
                throw BlobStoreError.blobNotFound(key)
            }
            do {
                let status = try POSIXFile.status(ofDescriptor: descriptor, path: path)
                guard status.isRegularFile else { throw BlobStoreError.blobNotFound(key) }
                let metadata = BlobMetadata(
                    sizeBytes: status.sizeBytes,
                    digest: try Self.recordedDigest(of: key, in: layout) {
                        try POSIXFile.attribute(BlobLayout.digestAttribute, of: descriptor, path: path)
                    },
                    modifiedAt: status.modifiedAt
                )
                let head = readAhead > 0
                    ? try POSIXFile.read(descriptor, offset: 0, length: Int(min(Int64(readAhead), status.sizeBytes)), path: path) : nil
                return OpenBlob(key: key, metadata: metadata, descriptor: descriptor, path: path, threads: threads, head: head)
            } catch {
                close(descriptor)
                throw error
            }
        }
    }

    /// The digest recorded when the blob was written: its extended attribute, else (a blob from before attributes,
    /// or a file system without them) its sidecar; nil if neither holds one readable as hex (the blob is still served).
    static func recordedDigest(of key: FileKey, in layout: BlobLayout, attribute: () throws -> String?) throws -> SHA256Digest? {
        if let text = try attribute() { return SHA256Digest(hex: String(text.prefix(64))) }
        guard let text = try POSIXFile.readSmallFile(layout.digestPath(for: key), limit: 128) else { return nil }
        return SHA256Digest(hex: String(text.prefix(64)))
    }
}
