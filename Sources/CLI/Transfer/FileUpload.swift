#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
import AsyncHTTPClient
import DFSCore
import Foundation
import NIOCore

/// `dfs put`: a raw-body upload streamed from disk, with the digest computed first and sent along
/// (`X-Checksum-SHA256`) so the gateway refuses and keeps nothing if a byte changed on the way.
struct FileUpload {
    let path: String
    let storedName: String

    /// What the gateway answered, and what the CLI knows about the file.
    struct Receipt {
        let reply: GatewayClient.Reply
        let document: JSONValue
        let digest: SHA256Digest
        let size: Int64
    }

    init(path: String, name: String?) {
        self.path = path
        self.storedName = name ?? (path as NSString).lastPathComponent
    }

    func run(with client: GatewayClient) async throws -> Receipt {
        let size = try regularFileSize()
        let hashing = TransferProgress(label: "hashing", totalBytes: size)
        let (digest, hashedSize) = try LocalFileReader.digest(of: path) { hashing.advance(by: $0) }
        hashing.finish()
        guard hashedSize == size else { throw LocalFileError.changedWhileReading(path) }

        var request = HTTPClientRequest(url: client.baseURL + "/upload?filename=" + GatewayClient.encode(storedName))
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/octet-stream")
        request.headers.add(name: "X-Checksum-SHA256", value: digest.hex)
        let progress = TransferProgress(label: "put", totalBytes: size)
        let chunks = FileChunks(path: path, onChunk: { progress.advance(by: $0.readableBytes) })
        request.body = .stream(chunks, length: .known(size))

        let reply: GatewayClient.Reply
        do {
            let response = try await client.transfer(request)
            reply = try await client.reply(from: response)
            progress.finish()
        } catch {
            progress.abandon()
            throw error
        }
        let document = try reply.json()
        if let stored = document["checksum_sha256"]?.text, SHA256Digest(hex: stored) != digest {
            throw IntegrityError.storedDigestDiffers(local: digest, gateway: stored)
        }
        return Receipt(reply: reply, document: document, digest: digest, size: size)
    }

    private func regularFileSize() throws -> Int64 {
        var info = stat()
        guard stat(path, &info) == 0 else { throw LocalFileError.cannotRead(path, errno: errno) }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw LocalFileError.notARegularFile(path) }
        return Int64(info.st_size)
    }
}
