import DFSCore
import DFSServer
import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

/// A stand-in storage node whose disk "rots": it stores every blob with one byte flipped and honestly reports
/// the digest of what it stored. Its health answer is slow on purpose, so the gateway's latency routing never
/// picks it as an upload primary and it only ever acts as a replication target.
public final class CorruptingNode: Sendable {
    public let port: Int
    public let nodeID: String
    private let task: Task<Void, any Error>
    private let stored: Blobs

    final class Blobs: @unchecked Sendable {
        // @unchecked: every access holds `lock`.
        private let lock = NSLock()
        private var blobs: [String: (bytes: [UInt8], storedAt: Double)] = [:]
        func set(_ key: String, _ bytes: [UInt8]) { lock.withLock { blobs[key] = (bytes, Date().timeIntervalSince1970) } }
        func get(_ key: String) -> [UInt8]? { lock.withLock { blobs[key]?.bytes } }
        func remove(_ key: String) -> Bool { lock.withLock { blobs.removeValue(forKey: key) != nil } }
        var count: Int { lock.withLock { blobs.count } }
        /// Every blob in key order, as `GET /inventory` lists them (one page: a test stores a handful).
        var inventory: [InventoryEntry] {
            lock.withLock {
                blobs.sorted { $0.key < $1.key }.map {
                    InventoryEntry(key: $0.key, sizeBytes: Int64($0.value.bytes.count), modifiedAt: $0.value.storedAt)
                }
            }
        }
    }

    /// Starts serving on `port` (pick a free one first).
    public init(nodeID: String, port: Int, healthDelay: Duration = .milliseconds(400)) async throws {
        self.port = port
        self.nodeID = nodeID
        let stored = Blobs()
        self.stored = stored
        let router = Router()
        router.get("/health") { _, _ -> Response in
            try await Task.sleep(for: healthDelay)
            return try jsonResponse(NodeHealth(status: "UP", nodeID: nodeID, freeBytes: 1 << 40, blobCount: stored.count))
        }
        router.put("/blobs/:key") { request, context -> Response in
            let key = try context.parameters.require("key")
            var bytes: [UInt8] = []
            for try await chunk in request.body { bytes += chunk.readableBytesView }
            if bytes.count > 10 { bytes[10] ^= 0xFF }  // the rot
            stored.set(key, bytes)
            var hasher = StreamingSHA256()
            hasher.update(ByteBuffer(bytes: bytes))
            return try jsonResponse(
                BlobPutResult(
                    nodeID: nodeID, key: key, sizeBytes: Int64(bytes.count), checksumSHA256: hasher.finalize().hex, replicas: []))
        }
        router.get("/blobs/:key") { _, context -> Response in
            guard let bytes = stored.get(try context.parameters.require("key")) else { return Response(status: .notFound) }
            return Response(
                status: .ok, headers: [.contentLength: String(bytes.count)], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        }
        router.delete("/blobs/:key") { _, context -> Response in
            Response(status: stored.remove(try context.parameters.require("key")) ? .ok : .notFound)
        }
        // The gateway reconciles a node that comes back: a slow health answer on a loaded machine can make this one
        // flap DOWN and UP, and without an inventory each reconciliation would fail and be retried.
        router.get("/inventory") { request, _ -> Response in
            let after = request.uri.queryParameters.get("after").map { String($0) } ?? ""
            return try jsonResponse(InventoryPage(blobs: stored.inventory.filter { $0.key > after }, nextAfter: nil))
        }
        task = try await serveStandInNode(router, port: port, name: "corrupting-node")
    }

    /// The bytes it stored for `key`, if any.
    public func storedBytes(_ key: String) -> [UInt8]? { stored.get(key) }

    public func stop() { task.cancel() }
}

private func jsonResponse(_ value: some Encodable) throws -> Response {
    Response(
        status: .ok, headers: [.contentType: "application/json"],
        body: .init(byteBuffer: ByteBuffer(bytes: try JSONEncoder().encode(value))))
}

/// Serves `router` on loopback `port` as a stand-in storage node; returns the serving task once the port accepts
/// connections (or after 10 s). Cancel the task to stop it.
func serveStandInNode(_ router: Router<BasicRequestContext>, port: Int, name: String) async throws -> Task<Void, any Error> {
    let server = ContinueAwareHTTPServer(
        responder: router.buildResponder(), host: "127.0.0.1", port: port, serverName: name, logger: Logger(label: name))
    let task = Task { try await server.run() }
    let deadline = ContinuousClock.now + .seconds(10)
    while ContinuousClock.now < deadline {
        if canConnect(port: port) { break }
        try await Task.sleep(for: .milliseconds(20))
    }
    return task
}

func canConnect(port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = UInt16(port).bigEndian
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    } == 0
}
