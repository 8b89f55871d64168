import DFSLauncher
import DFSCore
import Foundation
import Testing
import TestSupport

private let writerToken = "rw-integration-0123456789"
private let readerToken = "ro-integration-0123456789"

/// Access control against real processes: nodes demand the cluster secret, the gateway demands API keys when it
/// has them, and neither keys nor the secret leak into logs or `/metrics`.
@Suite("Access control, end to end", .serialized)
struct AccessControlIntegrationTests {
    @Test("a node called without (or with a wrong) cluster secret answers 401 and stores nothing")
    func nodeNeedsSecret() async throws {
        try await withCluster(nodes: 1) { cluster in
            let secret = try #require(cluster.local.clusterSecret)
            // The generated secret sits in a 0600 file and travels as its path: no command line holds it (`ps`).
            let secretFile = try #require(cluster.local.configuration.clusterSecretFile)
            let mode = try FileManager.default.attributesOfItem(atPath: secretFile)[.posixPermissions] as? Int
            #expect(mode == 0o600)
            for (member, pid) in await cluster.local.runningProcessIDs() {
                let commandLine = (try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8)) ?? ""
                #expect(commandLine.contains("--cluster-secret-file"), "\(member)")
                #expect(!commandLine.contains(secret.value), "\(member)")
            }
            let anonymous = cluster.nodeClient(1, withClusterSecret: false)
            let wrong = HTTPTestClient(
                baseURL: cluster.nodeURL(1), defaultHeaders: [(ClusterSecret.headerName, secret.value + "x")])
            for client in [anonymous, wrong] {
                let put = try await client.send(.PUT, "/blobs/intruder", body: randomBytes(4096))
                #expect(put.status == 401)
                #expect(try put.jsonObject()["error"] as? String == "unauthorized")
                #expect(try await client.get("/health").status == 401)
                #expect(try await client.get("/inventory").status == 401)
            }
            let trusted = cluster.nodeClient(1)
            #expect(try await trusted.get("/blobs/intruder").status == 404)
            #expect(try await trusted.getJSON("/inventory", as: InventoryAnswer.self).blobs.isEmpty)
            #expect(try await trusted.getJSON("/health", as: NodeHealthAnswer.self).blob_count == 0)

            // Uploads through the gateway still work: it sends the secret on every node call.
            let bytes = randomBytes(10_000)
            let answer = try await cluster.gateway.uploadRaw(bytes, filename: "ok.bin").expectingSuccess().json(UploadAnswer.self)
            #expect(try await anonymous.send(.DELETE, "/blobs/\(answer.file_id)").status == 401)
            #expect(try await trusted.get("/blobs/\(answer.file_id)").expectingSuccess().body == bytes)
        }
    }

    @Test("with API keys: no key 401, read-only reads but cannot change anything (403), read-write may; secrets never logged")
    func gatewayKeys() async throws {
        let folder = try makeTemporaryDirectory(prefix: "dfs-keys")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let keysFile = folder + "/api-keys"
        try "# test keys\nread-write \(writerToken) writer\nread-only \(readerToken) reader\n".write(
            toFile: keysFile, atomically: true, encoding: .utf8)

        try await withCluster(nodes: 2, gatewayArguments: ["--api-keys-file", keysFile, "--log-level", "debug"]) { cluster in
            let anonymous = cluster.gateway
            let reader = cluster.gateway.withAPIKey(readerToken)
            let writer = cluster.gateway.withAPIKey(writerToken)

            #expect(try await anonymous.get("/health").status == 200)
            let refused = try await anonymous.get("/files")
            #expect(refused.status == 401)
            #expect(refused.header("WWW-Authenticate")?.hasPrefix("Bearer") == true)
            #expect(try refused.jsonObject()["error"] as? String == "unauthorized")
            #expect(try await cluster.gateway.withAPIKey("not-a-key-at-all-123").get("/files").status == 401)
            #expect(try await anonymous.uploadRaw(randomBytes(100), filename: "x.bin").status == 401)

            let bytes = randomBytes(20_000)
            #expect(try await reader.uploadRaw(bytes, filename: "ro.bin").status == 403)
            let answer = try await writer.uploadRaw(bytes, filename: "rw.bin").expectingSuccess().json(UploadAnswer.self)

            #expect(try await reader.get("/files").status == 200)
            #expect(try await reader.download(answer.file_id).expectingSuccess().body == bytes)
            let forbidden = try await reader.delete("/files/\(answer.file_id)")
            #expect(forbidden.status == 403)
            #expect(try forbidden.jsonObject()["error"] as? String == "forbidden")
            #expect(try await reader.post("/nodes/node-1/recover").status == 403)
            #expect(try await reader.post("/audit").status == 403)
            #expect(try await reader.download(answer.file_id).status == 200)  // the refused delete changed nothing

            // A signed link (any valid key may ask) downloads that one file without a key, until it expires.
            #expect(try await anonymous.get("/files/\(answer.file_id)/download-link").status == 401)
            #expect(try await reader.get("/files/no-such-file/download-link").status == 404)
            let linkAnswer = try await reader.get("/files/\(answer.file_id)/download-link").expectingSuccess()
            #expect(linkAnswer.header("Cache-Control") == "no-store")
            let link = try #require(try linkAnswer.jsonObject()["url"] as? String)
            #expect(link.hasPrefix("/download/\(answer.file_id)?expires="))
            #expect(try await anonymous.get(link).expectingSuccess().body == bytes)
            #expect(try await anonymous.send(.HEAD, link).status == 200)
            let other = try await writer.uploadRaw(randomBytes(10), filename: "other.bin").expectingSuccess().json(
                UploadAnswer.self
            ).file_id
            let stolen = try await anonymous.get(link.replacingOccurrences(of: answer.file_id, with: other))
            #expect(stolen.status == 401)
            #expect(
                try stolen.jsonObject()["message"] as? String ?? ""
                    == "this download link is not valid for this file or has expired; get a new one from GET /files/{key}/download-link"
            )
            let stretched = link.replacingOccurrences(of: "expires=", with: "expires=9")
            #expect(try await anonymous.get(stretched).status == 401)

            // The CLI sends --api-key / DFS_API_KEY as a bearer token and explains a 401 or 403.
            let dfs = ClusterBinaries.directory() + "/" + ClusterBinaries.cliName
            let gatewayEnvironment = ["DFS_GATEWAY": cluster.gatewayURL, "DFS_API_KEY": ""]
            let listWithoutKey = try await CommandRun.run(dfs, ["ls"], environment: gatewayEnvironment)
            #expect(!listWithoutKey.succeeded)
            #expect(listWithoutKey.standardError.contains("--api-key"), "\(listWithoutKey)")
            let listWithKey = try await CommandRun.run(dfs, ["ls", "--api-key", readerToken], environment: gatewayEnvironment)
            #expect(listWithKey.succeeded, "\(listWithKey)")
            #expect(listWithKey.standardOutput.contains("rw.bin"))
            let removeReadOnly = try await CommandRun.run(
                dfs, ["rm", answer.file_id], environment: gatewayEnvironment.merging(["DFS_API_KEY": readerToken]) { $1 })
            #expect(!removeReadOnly.succeeded)
            #expect(removeReadOnly.standardError.contains("403"), "\(removeReadOnly)")

            let metrics = try await reader.get("/metrics").expectingSuccess().text
            #expect(try await anonymous.get("/metrics").status == 401)
            #expect(try await writer.delete("/files/\(answer.file_id)").status == 200)
            #expect(try await reader.download(answer.file_id).status == 404)

            let secret = try #require(cluster.local.clusterSecret).value
            let logs = [ClusterMember.gateway, .node(1), .node(2)].compactMap { cluster.logTail(of: $0, lines: 100_000) }.joined()
            #expect(logs.contains("starting dfs-gateway"))
            for leaked in [writerToken, readerToken, secret] {
                #expect(!logs.contains(leaked))
                #expect(!metrics.contains(leaked))
            }
        }
    }

    @Test("a gateway or node asked to listen on 0.0.0.0 without keys or secret exits at once with a clear message")
    func refusesOpenNetworkBind() async throws {
        let binaries = ClusterBinaries.directory()
        let port = try #require(LoopbackPort.free(count: 1).first)
        // The metadata and data paths cannot be created (/dev/null is a file), so even if the refusal were
        // missing the process would fail before it bound anything: this test never listens beyond loopback.
        let gateway = try await CommandRun.run(
            binaries + "/" + ClusterBinaries.gatewayName,
            ["--host", "0.0.0.0", "--port", String(port), "--metadata", "sqlite:/dev/null/dfs/metadata.sqlite"],
            environment: [
                "DFS_API_KEYS_FILE": "", "DFS_CLUSTER_SECRET": "", "DFS_CLUSTER_SECRET_FILE": "", "DFS_INSECURE_OPEN": "",
            ],
            timeout: .seconds(60))
        #expect(!gateway.succeeded)
        #expect(gateway.standardError.contains("refusing to listen on 0.0.0.0 without API keys"), "\(gateway)")

        let node = try await CommandRun.run(
            binaries + "/" + ClusterBinaries.nodeName,
            ["--host", "0.0.0.0", "--port", String(port), "--data", "/dev/null/dfs/node-1"],
            environment: ["DFS_CLUSTER_SECRET": "", "DFS_CLUSTER_SECRET_FILE": "", "DFS_INSECURE_OPEN": ""],
            timeout: .seconds(60))
        #expect(!node.succeeded)
        #expect(node.standardError.contains("refusing to listen on 0.0.0.0 without a cluster secret"), "\(node)")
    }
}
