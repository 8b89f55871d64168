import DFSCore
import DFSServer
import Foundation
import Hummingbird
import Logging
import NIOCore

/// A stand-in storage node that refuses every upload at once, before reading its body (as a node whose disk is
/// full does): `507` with the node API's JSON error. Its health is fine, so the gateway picks it as primary.
public final class RefusingNode: Sendable {
    public let port: Int
    private let task: Task<Void, any Error>

    /// Starts serving on `port` (pick a free one first).
    public init(nodeID: String, port: Int) async throws {
        self.port = port
        let router = Router()
        router.get("/health") { _, _ -> Response in
            let health = try JSONEncoder().encode(NodeHealth(status: "UP", nodeID: nodeID, freeBytes: 0, blobCount: 0))
            return Response(
                status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: health)))
        }
        router.put("/blobs/:key") { _, _ -> Response in
            Response(
                status: HTTPResponse.Status(code: 507, reasonPhrase: "Insufficient Storage"),
                headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: #"{"error":"insufficient_storage","message":"disk full"}"#)))
        }
        router.delete("/blobs/:key") { _, _ in Response(status: .notFound) }
        // Stores nothing; an inventory lets the gateway reconcile it should it flap DOWN and UP under load.
        router.get("/inventory") { _, _ -> Response in
            Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: #"{"blobs":[]}"#)))
        }
        task = try await serveStandInNode(router, port: port, name: "refusing-node")
    }

    public func stop() { task.cancel() }
}
