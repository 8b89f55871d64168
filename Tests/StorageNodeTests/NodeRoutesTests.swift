import DFSCore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing

@testable import StorageNode

/// Runs `body` against the node's router (no socket), on a fresh data directory.
func withRoutedNode<T>(
    id: String = "node-1",
    replicationTimeout: Duration = .seconds(5),
    clusterSecret: ClusterSecret? = nil,
    _ body: @Sendable (any TestClientProtocol, NodeApplication, String) async throws -> T
) async throws -> T {
    try await withTemporaryDirectory { root in
        var configuration = try testConfiguration(id: id, data: root, replicationTimeout: replicationTimeout)
        configuration.clusterSecret = clusterSecret
        let node = try await NodeApplication.build(configuration, logger: Logger(label: "test.\(id)"))
        let app = Application(responder: node.responder)
        do {
            let result = try await app.test(.router) { client in try await body(client, node, root) }
            try await node.httpClient.shutdown()
            try await node.ioThreads.shutdownGracefully()
            return result
        } catch {
            try? await node.httpClient.shutdown()
            try? await node.ioThreads.shutdownGracefully()
            throw error
        }
    }
}

func decode<T: Decodable>(_ type: T.Type, _ buffer: ByteBuffer) throws -> T {
    try JSONDecoder().decode(type, from: Data(buffer.readableBytesView))
}

@Suite("Node routes through the router")
struct NodeRoutesTests {
    @Test("PUT stores and answers the digest; GET, HEAD and DELETE follow; health counts blobs")
    func putGetHeadDelete() async throws {
        let data = testBytes(200_000)
        try await withRoutedNode { client, _, _ in
            let put = try await client.execute(uri: "/blobs/k1", method: .put, body: ByteBuffer(bytes: data))
            #expect(put.status == .ok)
            let result = try decode(BlobPutResult.self, put.body)
            #expect(
                result
                    == BlobPutResult(
                        nodeID: "node-1", key: "k1", sizeBytes: 200_000, checksumSHA256: sha256(data).hex,
                        blockRoot: blockRoot(data), replicas: []))
            #expect(put.headers[.dfsNodeID] == "node-1")

            let get = try await client.execute(uri: "/blobs/k1", method: .get)
            #expect(get.status == .ok)
            #expect(Array(get.body.readableBytesView) == data)
            #expect(get.headers[.dfsContentLength] == "200000" && get.headers[.dfsVerified] == "blocks")
            // One block, checked before the head left: a plain Content-Length body.
            #expect(get.headers[.contentLength] == "200000")
            #expect(get.headers[.dfsChecksum] == sha256(data).hex)

            let head = try await client.execute(uri: "/blobs/k1", method: .head)
            #expect(head.status == .ok)
            #expect(head.headers[.contentLength] == "200000")
            #expect(head.headers[.dfsChecksum] == sha256(data).hex)
            #expect(head.body.readableBytes == 0)

            let health = try decode(NodeHealth.self, try await client.execute(uri: "/health", method: .get).body)
            #expect(health.status == "UP" && health.nodeID == "node-1" && health.blobCount == 1 && health.freeBytes > 0)

            let delete = try await client.execute(uri: "/blobs/k1", method: .delete)
            #expect(delete.status == .ok)
            #expect(try decode(DeleteAnswer.self, delete.body) == DeleteAnswer(deleted: true))
            let again = try await client.execute(uri: "/blobs/k1", method: .delete)
            #expect(again.status == .notFound)
            #expect(try decode(ErrorBody.self, again.body).error == "blob_not_found")
            let missing = try await client.execute(uri: "/blobs/k1", method: .get)
            #expect(missing.status == .notFound)
            #expect(try decode(ErrorBody.self, missing.body).error == "blob_not_found")
        }
    }

    @Test(
        "bad keys answer 400 invalid_key JSON and create no file",
        arguments: [
            "/blobs/..", "/blobs/a%2Fb", "/blobs/..%2Fx", "/blobs/\(String(repeating: "k", count: 300))", "/blobs/d.sha256",
            "/blobs/a%20b",
        ])
    func badKeys(_ uri: String) async throws {
        try await withRoutedNode { client, _, root in
            for method in [HTTPRequest.Method.put, .get, .head, .delete] {
                let response = try await client.execute(uri: uri, method: method, body: ByteBuffer(string: "data"))
                #expect(response.status == .badRequest, "\(method) \(uri)")
                if method != .head {
                    #expect(try decode(ErrorBody.self, response.body).error == "invalid_key")
                }
            }
            #expect(filesBelow(root).isEmpty)
        }
    }

    @Test("a wrong x-dfs-expected-sha256 answers 422 digest_mismatch and keeps nothing")
    func digestMismatch() async throws {
        try await withRoutedNode { client, node, root in
            let response = try await client.execute(
                uri: "/blobs/k2", method: .put,
                headers: [.dfsExpectedDigest: sha256([9]).hex],
                body: ByteBuffer(string: "not nine")
            )
            #expect(response.status == .unprocessableContent)
            #expect(try decode(ErrorBody.self, response.body).error == "digest_mismatch")
            #expect(filesBelow(root).isEmpty)
            #expect(node.store.blobCount == 0)

            let good = try await client.execute(
                uri: "/blobs/k2", method: .put, headers: [.dfsExpectedDigest: sha256([9]).hex], body: ByteBuffer(bytes: [9])
            )
            #expect(good.status == .ok)
        }
    }

    @Test(
        "malformed headers answer 400 with their own codes",
        arguments: [
            ("x-dfs-expected-sha256", "xyz", "invalid_digest"),
            ("x-dfs-replicate-to", "node-2", "invalid_replication_targets"),
            ("x-dfs-replicate-to", "node-2=ftp://x", "invalid_replication_targets"),
            ("x-dfs-replica-idle-limit-ms", "0", "invalid_replica_idle_limit"),
            ("x-dfs-replica-idle-limit-ms", "1s", "invalid_replica_idle_limit"),
        ])
    func malformedHeaders(_ name: String, _ value: String, _ code: String) async throws {
        try await withRoutedNode { client, _, _ in
            let response = try await client.execute(
                uri: "/blobs/k3", method: .put, headers: [HTTPField.Name(name)!: value], body: ByteBuffer(string: "x")
            )
            #expect(response.status == .badRequest)
            #expect(try decode(ErrorBody.self, response.body).error == code)
        }
    }

    @Test("a put of a key deleted on this node answers 409 blob_deleted and stores nothing")
    func putOfDeletedKeyRefused() async throws {
        try await withRoutedNode { client, node, root in
            _ = try await client.execute(uri: "/blobs/gone", method: .put, body: ByteBuffer(string: "first"))
            #expect(try await client.execute(uri: "/blobs/gone", method: .delete).status == .ok)
            let late = try await client.execute(uri: "/blobs/gone", method: .put, body: ByteBuffer(string: "late copy"))
            #expect(late.status == .conflict)
            #expect(try decode(ErrorBody.self, late.body).error == "blob_deleted")
            #expect(filesBelow(root).isEmpty)
            #expect(node.store.blobCount == 0)
        }
    }

    @Test("Range answers 206 with Content-Range, or 416 when unsatisfiable")
    func ranges() async throws {
        let data = testBytes(1000)
        try await withRoutedNode { client, _, _ in
            _ = try await client.execute(uri: "/blobs/r", method: .put, body: ByteBuffer(bytes: data))
            let partial = try await client.execute(uri: "/blobs/r", method: .get, headers: [.range: "bytes=100-199"])
            #expect(partial.status == .partialContent)
            #expect(partial.headers[.contentRange] == "bytes 100-199/1000")
            #expect(Array(partial.body.readableBytesView) == Array(data[100..<200]))
            let suffix = try await client.execute(uri: "/blobs/r", method: .get, headers: [.range: "bytes=-5"])
            #expect(Array(suffix.body.readableBytesView) == Array(data[995...]))
            let outside = try await client.execute(uri: "/blobs/r", method: .get, headers: [.range: "bytes=5000-"])
            #expect(outside.status == .rangeNotSatisfiable)
            #expect(outside.headers[.contentRange] == "bytes */1000")
            #expect(try decode(ErrorBody.self, outside.body).error == "range_not_satisfiable")
        }
    }

    @Test("inventory lists keys in order with a cursor, and refuses a bad limit")
    func inventory() async throws {
        try await withRoutedNode { client, _, _ in
            for key in ["c", "a", "b"] {
                _ = try await client.execute(uri: "/blobs/\(key)", method: .put, body: ByteBuffer(string: key))
            }
            let first = try decode(InventoryPage.self, try await client.execute(uri: "/inventory?limit=2", method: .get).body)
            #expect(first.blobs.map(\.key) == ["a", "b"])
            #expect(first.nextAfter == "b")
            let second = try decode(InventoryPage.self, try await client.execute(uri: "/inventory?after=b", method: .get).body)
            #expect(second.blobs.map(\.key) == ["c"])
            #expect(second.nextAfter == nil)
            let bad = try await client.execute(uri: "/inventory?limit=zero", method: .get)
            #expect(bad.status == .badRequest)
            #expect(try decode(ErrorBody.self, bad.body).error == "invalid_query")
        }
    }

    @Test("an unknown route answers JSON 404")
    func unknownRoute() async throws {
        try await withRoutedNode { client, _, _ in
            let response = try await client.execute(uri: "/nope", method: .get)
            #expect(response.status == .notFound)
            #expect(
                try decode(ErrorBody.self, response.body) == ErrorBody(error: "not_found", message: "No such route on this node.")
            )
        }
    }
}
