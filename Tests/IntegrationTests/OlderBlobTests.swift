import DFSCore
import Foundation
import NIOCore
import Testing
import TestSupport

/// Files stored before block digests existed (no `.blocks` table on the nodes, no block root in the metadata) keep
/// working: whole reads are checked against the whole SHA-256, a range of one has its blocks computed first, and the
/// audit (or a repair) computes every copy's blocks and records the file's block root.
@Suite("Files stored before block digests", .serialized)
struct OlderBlobTests {
    static let fileSize = 3 * (1 << 20) + 777

    /// Turns a file stored now into one stored by the earlier version: the nodes lose their block tables and the
    /// file row its block root (the gateway is stopped meanwhile, so no cache of it survives).
    static func makeOlder(_ key: String, in cluster: TestCluster) async throws {
        await cluster.local.stop(.gateway)
        for node in 1...3 { try FileManager.default.removeItem(atPath: cluster.blobPath(node: node, key: key) + ".blocks") }
        try await clearBlockRoot(of: key, metadataURL: cluster.local.configuration.effectiveMetadataURL)
        try await cluster.local.start(.gateway)
        try await cluster.waitForAllNodesUp()
    }

    static func clearBlockRoot(of key: String, metadataURL: String) async throws {
        let statement = "UPDATE files SET block_root = NULL WHERE file_key = '\(key)'"
        let run: CommandRun
        if metadataURL.hasPrefix("sqlite:") {
            run = try await CommandRun.run(
                "/usr/bin/python3",
                [
                    "-c", "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute(sys.argv[2]); c.commit()",
                    String(metadataURL.dropFirst("sqlite:".count)), statement,
                ])
        } else {
            let url = try #require(URLComponents(string: metadataURL))
            run = try await CommandRun.run(
                "/usr/bin/mariadb",
                [
                    "--no-defaults", "-h", url.host ?? "127.0.0.1", "-P", String(url.port ?? 3306), "-u", url.user ?? "",
                    String(url.path.dropFirst()), "-e", statement,
                ],
                environment: ["MYSQL_PWD": url.password ?? ""])
        }
        #expect(run.succeeded, "\(run.standardError)")
    }

    static func blockRoot(_ bytes: [UInt8]) -> String {
        var hasher = BlobHasher()
        hasher.update(ByteBuffer(bytes: bytes))
        return hasher.finalize().blocks.root.hex
    }

    func recordedRoot(_ key: String, _ cluster: TestCluster) async throws -> String? {
        try await cluster.gateway.get("/files/\(key)").expectingSuccess().jsonObject()["block_root"] as? String
    }

    @Test("an older file is served whole and by ranges, its blocks are computed on the way, and the audit records its root")
    func olderFileKeepsWorking() async throws {
        try await withCluster(nodes: 3, gatewayArguments: ["--audit-interval", "0", "--recovery-interval", "1h"]) { cluster in
            try await cluster.waitForAllNodesUp()
            let bytes = randomBytes(Self.fileSize)
            let key = try await cluster.gateway.uploadRaw(bytes, filename: "old.bin").expectingSuccess().json(UploadAnswer.self)
                .file_id
            #expect(try await recordedRoot(key, cluster) == Self.blockRoot(bytes))
            try await Self.makeOlder(key, in: cluster)
            #expect(try await recordedRoot(key, cluster) == nil)

            let whole = try await cluster.gateway.download(key).expectingSuccess()
            #expect(whole.body.count == bytes.count && sha256Hex(whole.body) == sha256Hex(bytes))
            let server = try #require(whole.header("X-Served-By").flatMap { Int($0.dropFirst("node-".count)) })
            #expect(
                FileManager.default.fileExists(atPath: cluster.blobPath(node: server, key: key) + ".blocks"),
                "a verified whole read records the blocks")
            for range in ["bytes=0-99", "bytes=2000000-2000099", "bytes=-100"] {
                let part = try await cluster.gateway.download(key, headers: [("Range", range)]).expectingSuccess()
                #expect(part.status == 206 && part.body.count == 100)
            }
            let audit = try await cluster.gateway.post("/audit").expectingSuccess().jsonObject()
            #expect(audit["corrupt"] as? Int == 0 && audit["replicas_checked"] as? Int == 3)
            for node in 1...3 {
                #expect(
                    FileManager.default.fileExists(atPath: cluster.blobPath(node: node, key: key) + ".blocks"), "node-\(node)")
            }
            #expect(try await recordedRoot(key, cluster) == Self.blockRoot(bytes), "the audit recorded the block root")
        }
    }

    @Test(
        "a damaged copy of an older file is never served: its whole check fails, the audit marks it, the repair records the root")
    func olderFileDamaged() async throws {
        try await withCluster(nodes: 3, gatewayArguments: ["--audit-interval", "0", "--recovery-interval", "1h"]) { cluster in
            try await cluster.waitForAllNodesUp()
            let bytes = randomBytes(Self.fileSize)
            let key = try await cluster.gateway.uploadRaw(bytes, filename: "old.bin").expectingSuccess().json(UploadAnswer.self)
                .file_id
            try await Self.makeOlder(key, in: cluster)
            try flipByte(atPath: cluster.blobPath(node: 2, key: key), offset: 2_500_000)
            // Straight from the node: the last chunk is held back and the body ends short, never complete and wrong.
            let direct = try await cluster.nodeClient(2).get(
                "/blobs/\(key)", headers: [("x-dfs-expected-sha256", sha256Hex(bytes))])
            #expect(direct.body.count < bytes.count && direct.header("x-dfs-verified") == "whole")
            let ranged = try await cluster.nodeClient(2).get("/blobs/\(key)", headers: [("Range", "bytes=0-9")])
            #expect(ranged.status == 422, "a range of it needs the whole SHA-256 first")

            let audit = try await cluster.gateway.post("/audit").expectingSuccess().jsonObject()
            #expect(audit["corrupt"] as? Int == 1)
            #expect(
                !FileManager.default.fileExists(atPath: cluster.blobPath(node: 2, key: key) + ".blocks"),
                "no table for damaged bytes")
            let recover = try await cluster.gateway.post("/nodes/node-2/recover").expectingSuccess().jsonObject()
            #expect(recover["success"] as? Int == 1)
            let repaired = try await cluster.nodeClient(2).get("/blobs/\(key)").expectingSuccess()
            #expect(sha256Hex(repaired.body) == sha256Hex(bytes))
            #expect(try await recordedRoot(key, cluster) == Self.blockRoot(bytes))
        }
    }
}
