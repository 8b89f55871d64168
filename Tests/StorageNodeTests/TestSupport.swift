import Crypto
import DFSCore
import Foundation
import Glibc
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

@testable import StorageNode

/// A fresh directory under the system temp dir, removed after `body`.
func withTemporaryDirectory<T>(_ body: (String) async throws -> T) async throws -> T {
    var template = Array((NSTemporaryDirectory() + "/dfs-node-test-XXXXXX").utf8CString)
    guard let created = mkdtemp(&template) else { throw POSIXError(.EIO) }
    let path = String(cString: created)
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try await body(path)
}

func openStore(at root: String, sidecarDigests: Bool = false) async throws -> BlobStore {
    try await BlobStore.open(at: root, threads: .singleton, logger: Logger(label: "test"), sidecarDigests: sidecarDigests)
}

/// The digest attribute of a file, as the node wrote it (nil if it has none).
func digestAttribute(_ path: String) throws -> String? {
    try POSIXFile.attribute(BlobLayout.digestAttribute, atPath: path)
}

/// Deterministic pseudo-random bytes (xorshift), so failures are reproducible.
func testBytes(_ count: Int, seed: UInt64 = 0x9E37_79B9_7F4A_7C15) -> [UInt8] {
    var state = seed
    return (0..<count).map { _ in
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return UInt8(truncatingIfNeeded: state)
    }
}

/// The block root a node records for `bytes`.
func blockRoot(_ bytes: [UInt8]) -> String {
    var hasher = BlobHasher()
    hasher.update(ByteBuffer(bytes: bytes))
    return hasher.finalize().blocks.root.hex
}

func sha256(_ bytes: [UInt8]) -> DFSCore.SHA256Digest { DFSCore.SHA256Digest(SHA256.hash(data: bytes)) }

/// `bytes` as a body of `chunkSize` chunks; with `failAfter`, throws after that many chunks (a client gone midway).
func chunkedBody(_ bytes: [UInt8], chunkSize: Int = 64 << 10, failAfter: Int? = nil) -> AsyncThrowingStream<ByteBuffer, any Error>
{
    AsyncThrowingStream { continuation in
        var sent = 0
        var offset = 0
        while offset < bytes.count {
            if let failAfter, sent == failAfter {
                continuation.finish(throwing: TestBodyFailure())
                return
            }
            let end = min(offset + chunkSize, bytes.count)
            continuation.yield(ByteBuffer(bytes: bytes[offset..<end]))
            offset = end
            sent += 1
        }
        continuation.finish()
    }
}

struct TestBodyFailure: Error {}

/// Every file below `root`, relative, sorted (to prove that nothing was left behind).
func filesBelow(_ root: String) -> [String] {
    let enumerator = FileManager.default.enumerator(atPath: root)
    var files: [String] = []
    while let path = enumerator?.nextObject() as? String {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: root + "/" + path, isDirectory: &isDirectory), !isDirectory.boolValue {
            files.append(path)
        }
    }
    return files.sorted()
}

/// Reads a whole blob back through the store's chunked reader.
func readAll(_ store: BlobStore, _ key: FileKey) async throws -> [UInt8] {
    let blob = try await store.openForReading(key)
    var bytes: [UInt8] = []
    var offset: Int64 = 0
    while offset < blob.metadata.sizeBytes {
        let chunk = try await blob.read(offset: offset, length: 100_000)
        bytes += chunk.readableBytesView
        offset += Int64(chunk.readableBytes)
    }
    return bytes
}

func testConfiguration(id: String, data: String, replicationTimeout: Duration = .seconds(5)) throws -> NodeConfiguration {
    NodeConfiguration(
        nodeID: try NodeID(validating: id),
        host: "127.0.0.1",
        port: 0,
        dataDirectory: data,
        advertiseURL: "http://127.0.0.1:0",
        gatewayURL: nil,
        role: nil,
        replicationTimeout: replicationTimeout,
        heartbeatInterval: .seconds(10),
        ioThreadCount: 2,
        logLevel: .info
    )
}

/// A whole node (the real composition and `ContinueAwareHTTPServer`) on a free loopback port, stopped after `body`.
func withLiveNode<T>(id: String, data: String, _ body: (NodeApplication, NodeEndpoint) async throws -> T) async throws -> T {
    let app = try await NodeApplication.build(try testConfiguration(id: id, data: data), logger: Logger(label: "test.\(id)"))
    let (ports, portContinuation) = AsyncStream<Int>.makeStream()
    let group = ServiceGroup(
        configuration: .init(services: app.services { port in portContinuation.yield(port) }, logger: app.logger))
    let running = Task { try await group.run() }
    var portIterator = ports.makeAsyncIterator()
    guard let port = await portIterator.next() else { throw POSIXError(.EADDRNOTAVAIL) }
    let endpoint = NodeEndpoint(id: app.configuration.nodeID, baseURL: "http://127.0.0.1:\(port)")
    do {
        let result = try await body(app, endpoint)
        await group.triggerGracefulShutdown()
        try await running.value
        return result
    } catch {
        await group.triggerGracefulShutdown()
        try? await running.value
        throw error
    }
}
