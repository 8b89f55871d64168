import ArgumentParser
import DFSCore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

@testable import StorageNode

private let secretText = "node-secret-0123456789abcdef"

/// A node started with the cluster secret answers nothing without it, and changes nothing.
@Suite("Node cluster secret")
struct ClusterSecretTests {
    @Test("without or with a wrong secret every route answers 401 JSON and nothing is stored or deleted")
    func refusedWithoutSecret() async throws {
        let secret = try ClusterSecret(validating: secretText)
        try await withRoutedNode(clusterSecret: secret) { client, node, _ in
            let good: HTTPFields = [.dfsClusterSecret: secretText]
            let wrong: HTTPFields = [.dfsClusterSecret: secretText + "x"]
            for headers in [HTTPFields(), wrong] {
                let put = try await client.execute(
                    uri: "/blobs/k1", method: .put, headers: headers, body: ByteBuffer(bytes: testBytes(1000)))
                #expect(put.status == .unauthorized)
                #expect(String(buffer: put.body).contains("\"error\":\"unauthorized\""))
                #expect(put.headers[.dfsNodeID] == "node-1")
                for (uri, method) in [("/health", HTTPRequest.Method.get), ("/inventory", .get), ("/blobs/k1", .get)] {
                    #expect(
                        try await client.execute(uri: uri, method: method, headers: headers).status == .unauthorized,
                        "\(method) \(uri)")
                }
            }
            #expect(node.store.blobCount == 0)

            #expect(
                try await client.execute(uri: "/blobs/k1", method: .put, headers: good, body: ByteBuffer(bytes: testBytes(1000)))
                    .status == .ok)
            #expect(try await client.execute(uri: "/blobs/k1", method: .delete, headers: wrong).status == .unauthorized)
            #expect(node.store.blobCount == 1)
            #expect(try await client.execute(uri: "/blobs/k1", method: .get, headers: good).status == .ok)
        }
    }

    @Test("a node on a non-loopback address without a secret refuses to start; --insecure-open or a secret allows it")
    func exposure() throws {
        #expect {
            _ = try NodeCommand.parse(["--host", "0.0.0.0"]).makeConfiguration()
        } throws: { error in
            "\(error)".contains("refusing to listen on 0.0.0.0 without a cluster secret")
        }
        #expect(
            try NodeCommand.parse(["--host", "0.0.0.0", "--insecure-open", "--insecure-plaintext"]).makeConfiguration()
                .clusterSecret == nil)
        #expect(try NodeCommand.parse(["--host", "127.0.0.1"]).makeConfiguration().clusterSecret == nil)

        let path = FileManager.default.temporaryDirectory.appendingPathComponent("dfs-secret-\(UUID().uuidString)").path
        try "\(secretText)\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let configuration = try NodeCommand.parse(
            ["--host", "0.0.0.0", "--cluster-secret-file", path, "--insecure-plaintext"]
        ).makeConfiguration()
        #expect(configuration.clusterSecret?.matches(secretText) == true)
        // A secret is not TLS: on a reachable address the node still wants a certificate or --insecure-plaintext.
        #expect {
            _ = try NodeCommand.parse(["--host", "0.0.0.0", "--cluster-secret-file", path]).makeConfiguration()
        } throws: { "\($0)".contains("without TLS") }
        let tls = try NodeCommand.parse(
            ["--host", "0.0.0.0", "--cluster-secret-file", path, "--tls-cert", path, "--tls-key", path]
        ).makeConfiguration()
        #expect(tls.transportSecurity.servesHTTPS && tls.advertiseURL == "https://0.0.0.0:8001")
        #expect(!"\(configuration.logMetadata)".contains(secretText))
        #expect(throws: (any Error).self) { try NodeCommand.parse(["--cluster-secret", "short"]).makeConfiguration() }
    }
}
