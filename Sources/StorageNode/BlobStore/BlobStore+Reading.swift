import DFSCore
import Glibc
import NIOPosix

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
            let digest = try Self.recordedDigest(of: key, in: layout) {
                try POSIXFile.attribute(BlobLayout.digestAttribute, atPath: path)
            }
            return BlobMetadata(sizeBytes: status.sizeBytes, digest: digest, modifiedAt: status.modifiedAt)
        }
    }

    /// Opens a blob for reading, unverified; `openVerified` is what serves reads.
    func openForReading(_ key: FileKey) async throws -> OpenBlob {
        try BlobLayout.checkStorable(key)
        let layout = self.layout
        let threads = self.threads
        return try await threads.runIfActive { try Self.openNow(key, in: layout, threads: threads) }
    }

    /// Opens the blob file and reads its status and recorded digest; runs on the I/O threads.
    static func openNow(_ key: FileKey, in layout: BlobLayout, threads: NIOThreadPool) throws -> OpenBlob {
        let path = layout.blobPath(for: key)
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
                digest: try recordedDigest(of: key, in: layout) {
                    try POSIXFile.attribute(BlobLayout.digestAttribute, of: descriptor, path: path)
                },
                modifiedAt: status.modifiedAt
            )
            return OpenBlob(
                key: key, metadata: metadata, identity: status.identity, descriptor: descriptor, path: path, threads: threads)
        } catch {
            close(descriptor)
            throw error
        }
    }

    /// The digest recorded when the blob was written: its extended attribute, else (a blob from before attributes,
    /// or a file system without them) its sidecar; nil if neither holds one readable as hex.
    static func recordedDigest(of key: FileKey, in layout: BlobLayout, attribute: () throws -> String?) throws -> SHA256Digest? {
        if let text = try attribute() { return SHA256Digest(hex: String(text.prefix(64))) }
        guard let text = try POSIXFile.readSmallFile(layout.digestPath(for: key), limit: 128) else { return nil }
        return SHA256Digest(hex: String(text.prefix(64)))
    }
}
