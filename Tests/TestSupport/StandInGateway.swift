import DFSCore
import DFSLauncher
import Foundation
import Hummingbird
import NIOCore

/// A stand-in gateway for testing what clients check on their own (`dfs get`, `dfs-loadtest`): it keeps uploads
/// in memory and answers `POST /upload` and `GET /download/{key}` as the gateway does, announcing each file's
/// true SHA-256, but can be told to send download bytes that differ from what it announces.
public final class StandInGateway: Sendable {
    /// What a download sends.
    public enum Download: Sendable {
        /// The stored bytes, with their length and SHA-256.
        case honest
        /// The stored bytes with one byte flipped: same length, so only a digest check notices.
        case flippedByte
        /// The first half of the bytes, then a clean end; no length is announced (chunked), so only a digest check
        /// notices.
        case truncated
        /// The full length announced, half of the bytes sent, then the connection is dropped.
        case cutOff
    }

    public let port: Int
    public var url: String { "http://127.0.0.1:\(port)" }
    private let files: Files
    private let task: Task<Void, any Error>

    final class Files: @unchecked Sendable {
        // @unchecked: every access holds `lock`.
        private let lock = NSLock()
        private var files: [String: (name: String, bytes: [UInt8])] = [:]
        private var downloads = 0
        func add(_ bytes: [UInt8], name: String) -> String {
            let key = FileKey.generate().rawValue
            lock.withLock { files[key] = (name, bytes) }
            return key
        }
        func take(_ key: String) -> (name: String, bytes: [UInt8])? {
            lock.withLock {
                downloads += 1
                return files[key]
            }
        }
        var downloadCount: Int { lock.withLock { downloads } }
    }

    /// Starts serving on a free loopback port.
    public init(serving download: Download) async throws {
        let files = Files()
        self.files = files
        port = LoopbackPort.free(count: 1)[0]
        let router = Router()
        router.post("/upload") { request, _ -> Response in
            let name = request.uri.queryParameters.get("filename") ?? "upload.bin"
            var bytes: [UInt8] = []
            for try await chunk in request.body { bytes += chunk.readableBytesView }
            let key = files.add(bytes, name: name)
            let answer: [String: String] = [
                "file_id": key, "file_key": key, "original_filename": name, "size_bytes": String(bytes.count),
                "checksum_sha256": sha256Hex(bytes),
            ]
            return Response(
                status: .created, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(bytes: try JSONEncoder().encode(answer))))
        }
        router.get("/download/:key") { _, context -> Response in
            guard let file = files.take(try context.parameters.require("key")) else {
                return Response(
                    status: .notFound, headers: [.contentType: "application/json"],
                    body: .init(byteBuffer: ByteBuffer(string: #"{"error":"not_found","message":"no such file"}"#)))
            }
            var headers: HTTPFields = [
                .contentType: "application/octet-stream", .eTag: "\"\(sha256Hex(file.bytes))\"",
                .contentDisposition: "attachment; filename=\"\(file.name)\"",
            ]
            headers[.init("x-checksum-sha256")!] = sha256Hex(file.bytes)
            let half = ByteBuffer(bytes: file.bytes.prefix(file.bytes.count / 2))
            switch download {
            case .honest:
                return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: file.bytes)))
            case .flippedByte:
                var bytes = file.bytes
                bytes[bytes.count / 2] ^= 0x01
                return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
            case .truncated:
                return Response(
                    status: .ok, headers: headers,
                    body: ResponseBody { writer in
                        try await writer.write(half)
                        try await writer.finish(nil)
                    })
            case .cutOff:
                headers[.contentLength] = String(file.bytes.count)
                // A body writer that throws after the head went out makes the server drop the connection.
                let body = ResponseBody(contentLength: file.bytes.count) { writer in
                    try await writer.write(half)
                    throw StandInCutOff()
                }
                return Response(status: .ok, headers: headers, body: body)
            }
        }
        task = try await serveStandInNode(router, port: port, name: "stand-in-gateway")
    }

    /// Stores `bytes` as an upload of `filename` would; returns the file key.
    public func store(_ bytes: [UInt8], filename: String) -> String { files.add(bytes, name: filename) }

    /// How many downloads were asked for, so a test can tell a run that checked nothing from one that checked.
    public var downloadCount: Int { files.downloadCount }

    public func stop() { task.cancel() }
}

private struct StandInCutOff: Error {}

private func sha256Hex(_ bytes: [UInt8]) -> String {
    var hasher = StreamingSHA256()
    hasher.update(ByteBuffer(bytes: bytes))
    return hasher.finalize().hex
}
