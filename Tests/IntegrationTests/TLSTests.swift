import DFSClient
import DFSCore
import DFSLauncher
import Foundation
import TestSupport
import Testing

@Suite("TLS between every process", .serialized)
struct TLSTests {
    @Test("dfs up --tls: put and get over HTTPS with the printed CA, keys 0600, no CA no trust, plain HTTP gets no answer")
    func dfsUpServesHTTPS() async throws {
        try await withDfsUp(extraArguments: ["--tls"]) { up in
            let ca = up.certificateAuthorityFile
            #expect(up.gatewayURL.hasPrefix("https://"))
            #expect(up.standardOutput.contains("TLS CA: \(ca)"), "\(up.standardOutput)")
            #expect(up.standardOutput.contains("https://127.0.0.1:\(up.nodePorts.lowerBound)"), "\(up.standardOutput)")
            for key in ["ca.key", "gateway.key", "node-1.key", "node-3.key"] {
                let attributes = try FileManager.default.attributesOfItem(atPath: up.workDirectory + "/data/tls/" + key)
                #expect((attributes[.posixPermissions] as? Int) == 0o600, "\(key): \(attributes[.posixPermissions] ?? "?")")
            }

            let original = randomBytes(2 << 20 + 777)
            let source = up.workDirectory + "/random.bin"
            try Data(original).write(to: URL(fileURLWithPath: source))
            let put = try await up.dfs(["put", "--cacert", ca, source])
            try #require(put.succeeded, "\(put)")
            let key = try #require(
                put.standardOutput.split(separator: "\n").first { $0.hasPrefix("file_key ") }
                    .map { $0.dropFirst("file_key".count).trimmingCharacters(in: .whitespaces) },
                "\(put.standardOutput)")
            let copy = up.workDirectory + "/copy.bin"
            // The environment variable works like the flag.
            let get = try await up.dfs(["get", key, "-o", copy], environment: ["DFS_CACERT": ca])
            try #require(get.succeeded, "\(get)")
            #expect(sha256Hex(Array(try Data(contentsOf: URL(fileURLWithPath: copy)))) == sha256Hex(original))
            let nodes = try await up.dfs(["nodes", "--cacert", ca])
            #expect(nodes.succeeded && nodes.standardOutput.contains("https://"), "\(nodes)")
            let upRows = nodes.standardOutput.split(separator: "\n").filter {
                $0.contains("https://") && $0.split(separator: " ").contains("UP")
            }
            #expect(upRows.count == 3, "\(nodes.standardOutput)")

            // The dashboard over HTTPS: its page and scripts load, and they name no http:// URL of their own.
            for path in ["/", "/dashboard/app.js", "/dashboard/api.js"] {
                let page = try await TLSProbe.shell(
                    "curl -s -f --max-time 10 --cacert '\(ca)' '\(up.gatewayURL)\(path)'")
                #expect(page.succeeded && !page.standardOutput.isEmpty, "\(path): \(page)")
                let ownURLs = page.standardOutput.components(separatedBy: "http://").dropFirst()
                    .filter { !$0.hasPrefix("www.w3.org/") }
                #expect(ownURLs.isEmpty, "\(path) hard-codes http:// URLs")
            }

            // Without the CA the gateway's certificate is not trusted.
            let untrusted = try await up.dfs(["ls"])
            #expect(!untrusted.succeeded, "\(untrusted)")

            // Plain HTTP to the gateway's and a node's port: no HTTP answer at all.
            for port in [up.gatewayPort, up.nodePorts.lowerBound] {
                let plain = try await TLSProbe.plainHTTPStatus("http://127.0.0.1:\(port)/health")
                #expect(plain.status == "000" && !plain.exit.isSuccess, "port \(port): \(plain)")
            }
            // Still serving HTTPS afterwards.
            let list = try await up.dfs(["ls", "--cacert", ca])
            #expect(list.succeeded && list.standardOutput.contains(key), "\(list)")
        }
    }

    @Test("a node whose certificate another CA signed is never used: it registers, stays DOWN, and no upload reaches it")
    func nodeSignedByAnotherCAIsRefused() async throws {
        try await withCluster(nodes: 2, gatewayArguments: ["--replicas", "2"], tls: true) { cluster in
            let configuration = cluster.local.configuration
            let rogueCA = ClusterCertificates(directory: cluster.workDirectory + "/rogue-tls")
            let rogue = ClusterMember.node(9)
            try rogueCA.ensure(members: [rogue], host: "127.0.0.1")
            let port = try #require(LoopbackPort.free(count: 1).first)
            let process = try ChildProcess.launch(
                name: "rogue node", executable: configuration.binaryDirectory + "/" + ClusterBinaries.nodeName,
                arguments: [
                    "--id", "node-rogue", "--port", String(port), "--data", cluster.workDirectory + "/rogue-data",
                    "--gateway", cluster.gatewayURL, "--heartbeat-interval", "500ms",
                    "--cluster-secret-file", try #require(configuration.clusterSecretFile),
                    "--tls-cert", rogueCA.certificateFile(of: rogue), "--tls-key", rogueCA.keyFile(of: rogue),
                    // It trusts the real CA, so its registration reaches the gateway: only the gateway's check stops it.
                    "--tls-ca", try #require(configuration.certificates).certificateAuthorityFile,
                ],
                environment: ProcessInfo.processInfo.environment.merging(["DFS_PARENT_PID": String(getpid())]) { _, new in new },
                output: .file(cluster.workDirectory + "/logs/node-rogue.log"))
            defer {
                process.requestStop(with: SIGKILL)
            }
            try await eventually("the rogue node registered itself", timeout: .seconds(20)) {
                let nodes = try await cluster.gateway.get("/nodes").expectingSuccess().jsonArray()
                return nodes.contains { $0["id"] as? String == "node-rogue" }
            }
            for index in 0..<8 {
                let answer = try await cluster.gateway.uploadRaw(randomBytes(64 << 10), filename: "f\(index).bin")
                    .expectingSuccess().json(UploadAnswer.self)
                #expect(!answer.replicas.contains { $0.node_id == "node-rogue" }, "upload \(index) used the rogue node")
            }
            let nodes = try await cluster.gateway.get("/nodes").expectingSuccess().jsonArray()
            let entry = try #require(nodes.first { $0["id"] as? String == "node-rogue" })
            #expect(entry["status"] as? String == "DOWN", "\(entry)")
            #expect(nodes.filter { $0["status"] as? String == "UP" }.count == 2, "\(nodes)")
            // Reachable and answering, it is refused for its certificate: the probe's error says so.
            let check = try await cluster.gateway.get("/nodes/check").expectingSuccess().jsonObject()
            let probed = (check["nodes"] as? [[String: Any]] ?? []).first { $0["id"] as? String == "node-rogue" }
            let reason = (probed?["error"] as? String ?? "").lowercased()
            #expect(reason.contains("certificate") || reason.contains("handshake") || reason.contains("ssl"), "\(probed ?? [:])")
            // Nothing was stored on it: asked directly (trusting the CA that signed it), it holds no blob.
            let secret = try #require(cluster.local.clusterSecret)
            let health = try await TLSProbe.shell(
                "curl -s --max-time 5 --cacert '\(rogueCA.certificateAuthorityFile)' -H '\(ClusterSecret.headerName): \(secret.value)'"
                    + " https://127.0.0.1:\(port)/health")
            #expect(health.standardOutput.contains("\"blob_count\":0"), "\(health)")
        }
    }

    @Test("SIGHUP serves a renewed certificate to new connections; an unusable one is refused and the old one kept")
    func certificateReloadOnHangup() async throws {
        try await withCluster(nodes: 1, tls: true) { cluster in
            let configuration = cluster.local.configuration
            let certificates = try #require(configuration.certificates)
            let gatewayPID = try #require(await cluster.local.processID(of: .gateway))
            let original = try await TLSProbe.fileFingerprint(certificates.certificateFile(of: .gateway))
            let served = try await TLSProbe.servedFingerprint(port: configuration.gatewayPort)
            #expect(served != nil && served == original, "served \(served ?? "nothing"), file \(original ?? "?")")

            // A renewed pair, written over the files the gateway was started with.
            try certificates.issue(
                for: "gateway-renewed", names: ["localhost", "127.0.0.1"], key: certificates.keyFile(of: .gateway),
                certificate: certificates.certificateFile(of: .gateway))
            let renewed = try #require(try await TLSProbe.fileFingerprint(certificates.certificateFile(of: .gateway)))
            #expect(renewed != original)
            kill(gatewayPID, SIGHUP)
            try await eventually("the gateway serves the renewed certificate", timeout: .seconds(10)) {
                try await TLSProbe.servedFingerprint(port: configuration.gatewayPort) == renewed
            }
            let body = randomBytes(300_000)
            let answer = try await cluster.gateway.uploadRaw(body, filename: "after-reload.bin").expectingSuccess()
                .json(UploadAnswer.self)
            #expect(sha256Hex(try await cluster.gateway.download(answer.file_id).expectingSuccess().body) == sha256Hex(body))

            // A broken certificate file: refused, logged, and the renewed pair stays in service.
            try "not a certificate\n".write(
                toFile: certificates.certificateFile(of: .gateway), atomically: true, encoding: .utf8)
            kill(gatewayPID, SIGHUP)
            try await eventually("the gateway logs the refused reload", timeout: .seconds(10)) {
                cluster.local.logTail(of: .gateway, lines: 20)?.contains("TLS certificate reload refused") == true
            }
            #expect(try await TLSProbe.servedFingerprint(port: configuration.gatewayPort) == renewed)
            #expect(try await cluster.gateway.get("/health").status == 200)
            #expect(cluster.local.logTail(of: .gateway, lines: 40)?.contains("TLS certificate reloaded") == true)
        }
    }

    @Test(
        "over TLS the slow-client limits and 100 Continue hold: no handshake is closed on the head timeout; curl's big upload gets 100 Continue"
    )
    func limitsAndContinueOverTLS() async throws {
        let limits = ["--request-head-timeout", "2s", "--idle-timeout", "3s"]
        try await withCluster(nodes: 1, gatewayArguments: limits, nodeArguments: limits, tls: true) { cluster in
            let configuration = cluster.local.configuration
            let clock = ContinuousClock()
            let opened = clock.now
            var silent: [RawConnection] = []
            for port in [configuration.gatewayPort, configuration.nodePorts[0]] {
                silent.append(try RawConnection(port: port))  // TCP only, never a ClientHello
                let partial = try RawConnection(port: port)
                try partial.send([0x16, 0x03, 0x01])  // the start of a TLS record, then nothing
                silent.append(partial)
            }
            #expect(try await cluster.gateway.get("/health").status == 200)
            try await eventually(
                "connections without a handshake are closed", timeout: .seconds(10), interval: .milliseconds(200)
            ) {
                silent.allSatisfy(\.isClosedByPeer)
            }
            #expect(clock.now - opened >= .milliseconds(1500), "closed before the head timeout")

            let ca = try #require(configuration.certificates).certificateAuthorityFile
            let source = cluster.workDirectory + "/big.bin"
            try Data(randomBytes(3 << 20)).write(to: URL(fileURLWithPath: source))
            let upload = try await TLSProbe.shell(
                "curl -sS -v --max-time 20 --cacert '\(ca)' -F 'file=@\(source)' -o /dev/null -w '%{http_code} %{time_total}' "
                    + "'\(cluster.gatewayURL)/upload' 2>&1")
            #expect(upload.succeeded, "\(upload)")
            #expect(upload.standardOutput.contains("HTTP/1.1 100 Continue"), "\(upload.standardOutput.suffix(2000))")
            let summary = upload.standardOutput.split(separator: "\n").last.map(String.init) ?? ""
            let fields = summary.split(separator: " ")
            #expect(fields.first == "200", "\(summary)")
            // Without the interim answer curl waits a full second before sending the body, and says so: its own
            // line, not the upload's time (which a loaded CI machine stretched past 1 s once with the answer sent).
            #expect(!upload.standardOutput.contains("Done waiting for 100-continue"), "upload took \(summary)")
        }
    }

    @Test(
        "a non-loopback --host without TLS is refused at start, on gateway and node, naming --tls-cert and --insecure-plaintext")
    func plaintextOnTheNetworkIsRefused() async throws {
        let folder = try makeTemporaryDirectory(prefix: "dfs-plaintext")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let binaries = ClusterBinaries.directory()
        let port = String(try #require(LoopbackPort.free(count: 1).first))
        let gateway = try await CommandRun.run(
            binaries + "/" + ClusterBinaries.gatewayName,
            ["--host", "0.0.0.0", "--port", port, "--insecure-open", "--metadata", "sqlite:\(folder)/m.sqlite"],
            timeout: .seconds(30))
        let node = try await CommandRun.run(
            binaries + "/" + ClusterBinaries.nodeName,
            ["--host", "0.0.0.0", "--port", port, "--insecure-open", "--data", folder + "/node"], timeout: .seconds(30))
        for run in [gateway, node] {
            #expect(!run.succeeded, "\(run)")
            #expect(run.standardError.contains("without TLS"), "\(run.standardError)")
            #expect(run.standardError.contains("--tls-cert") && run.standardError.contains("--insecure-plaintext"))
        }
        #expect(!FileManager.default.fileExists(atPath: folder + "/node"), "the node created its data folder before refusing")
    }
}
