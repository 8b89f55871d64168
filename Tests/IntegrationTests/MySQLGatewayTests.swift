import DFSLauncher
import DFSCore
import DFSMetadata
import Foundation
import Logging
import S3Protocol
import Testing
import TestSupport

/// Gateways on MySQL: stateless gateways sharing one database, and a database outage.
@Suite("Gateways on MySQL", .serialized)
struct MySQLGatewayTests {
    @Test("two gateways on one MariaDB: what one uploads, the other lists, serves and deletes")
    func twoGatewaysShareOneDatabase() async throws {
        try await PrivateMariaDB.with { database in
            try await withCluster(nodes: 3, metadataURL: database.url) { cluster in
                try await withSecondGateway(of: cluster, metadataURL: database.url) { second in
                    let first = cluster.gateway
                    let bytesA = randomBytes(200_000)
                    let bytesB = randomBytes(150_000)
                    // Awkward names travel through the query string (multipart would need header escaping).
                    let nameA = #"from 'first' 100% \back.bin"#
                    let nameB = #"from "second" ü 日本.bin"#
                    let a = try await first.uploadRaw(bytesA, filename: nameA).expectingSuccess().json(UploadAnswer.self)
                    let b = try await second.uploadRaw(bytesB, filename: nameB).expectingSuccess().json(UploadAnswer.self)

                    #expect(try await second.download(a.file_id).expectingSuccess().body == bytesA)
                    #expect(try await first.download(b.file_id).expectingSuccess().body == bytesB)
                    for gateway in [first, second] {
                        let files = try await gateway.getJSON("/files", as: FilesAnswer.self)
                        #expect(Set(files.files.map(\.file_key)) == [a.file_id, b.file_id])
                        #expect(Set(files.files.map(\.original_filename)) == [nameA, nameB])
                    }

                    _ = try await second.delete("/files/" + a.file_id).expectingSuccess()
                    #expect(try await first.download(a.file_id).status == 404)
                }
                // Neither the gateway's own log nor the launcher's start line holds the password.
                let log = try String(contentsOfFile: cluster.workDirectory + "/logs/gateway.log", encoding: .utf8)
                #expect(log.contains("mysql://dfs:***@"))
                #expect(!log.contains("dfspw"))
            }
        }
    }

    @Test("two gateways with S3 on one MariaDB: a multipart object is read for its SHA-256 by one of them, once")
    func multipartDigestReadOnce() async throws {
        let (keys, credential) = try writeS3TestCredential(3)
        let s3Ports = LoopbackPort.free(count: 2)
        try await PrivateMariaDB.with { database in
            try await withCluster(
                nodes: 3, metadataURL: database.url,
                gatewayArguments: ["--s3-port", String(s3Ports[0]), "--s3-credentials-file", keys]
            ) { cluster in
                try await withSecondGateway(
                    of: cluster, metadataURL: database.url,
                    arguments: ["--s3-port", String(s3Ports[1]), "--s3-credentials-file", keys]
                ) { second in
                    try await cluster.waitForAllNodesUp()
                    let s3 = S3TestClient(baseURL: "http://127.0.0.1:\(s3Ports[0])", credential: credential)
                    #expect(try await s3.send(.PUT, "/shared").status == 200)
                    let parts = [randomBytes(5 << 20), randomBytes(1000)]
                    #expect(try await s3.putMultipartObject("/shared/two.bin", parts: parts).status == 200)
                    try await eventually("the object's SHA-256 was recorded", timeout: .seconds(30)) {
                        try await second.getJSON("/files", as: FilesAnswer.self).files
                            .contains { $0.object_sha256 == sha256Hex(parts[0] + parts[1]) }
                    }
                    // Both gateways poll the queue every second; the claim let only one of them read the object (the
                    // claim rules themselves are proven by the catalog conformance suite; this checks the gateways use them).
                    try await Task.sleep(for: .seconds(2))
                    let logs = [
                        cluster.workDirectory + "/logs/gateway.log", cluster.workDirectory + "/gateway-2/logs/gateway.log",
                    ]
                    let reads = try logs.map {
                        try String(contentsOfFile: $0, encoding: .utf8).components(separatedBy: "reading a multipart object")
                            .count - 1
                    }
                    #expect(reads.reduce(0, +) == 1, "reads per gateway: \(reads)")
                }
            }
        }
    }

    @Test("a node stopped and restarted behind two gateways: its queue is drained exactly once")
    func queueDrainedOnceByTwoGateways() async throws {
        try await PrivateMariaDB.with { database in
            try await withCluster(nodes: 3, metadataURL: database.url, gatewayArguments: ["--probe-interval", "300ms"]) {
                cluster in
                try await withSecondGateway(of: cluster, metadataURL: database.url) { second in
                    await cluster.stopNode(3)
                    try await cluster.waitForNode(3, status: "DOWN")
                    try await eventually("the second gateway sees node-3 DOWN") {
                        try await second.getJSON("/nodes", as: [NodeRow].self).contains {
                            $0.id == "node-3" && $0.status == "DOWN"
                        }
                    }
                    var digests: [String: String] = [:]
                    for index in 0..<8 {
                        let bytes = randomBytes(30_000 + index)
                        let gateway = index.isMultiple(of: 2) ? cluster.gateway : second
                        let answer = try await gateway.uploadRaw(bytes, filename: "q\(index)").expectingSuccess().json(
                            UploadAnswer.self)
                        digests[answer.file_id] = sha256Hex(bytes)
                    }
                    try await cluster.startNode(3)
                    try await eventually("node-3's queue is drained", timeout: .seconds(30)) {
                        let queue = try await second.getJSON("/replication-queue?node_id=node-3", as: QueueAnswer.self)
                        return queue.items.count == digests.count && queue.items.allSatisfy { $0.status == "COMPLETED" }
                    }
                    for (key, digest) in digests {
                        let blob = try await cluster.nodeClient(3).get("/blobs/\(key)").expectingSuccess()
                        #expect(sha256Hex(blob.body) == digest)
                    }
                    // Each file was copied by exactly one of the two gateways.
                    let logs = [
                        cluster.workDirectory + "/logs/gateway.log", cluster.workDirectory + "/gateway-2/logs/gateway.log",
                    ]
                    .map { (try? String(contentsOfFile: $0, encoding: .utf8)) ?? "" }
                    for key in digests.keys {
                        let copies = logs.map { $0.components(separatedBy: "auto-recovered \(key) to node-3").count - 1 }.reduce(
                            0, +)
                        #expect(copies == 1, "\(key) was recovered \(copies) times")
                    }
                }
            }
        }
    }

    @Test("items claimed by a gateway that died are finished by another once the lease runs out")
    func deadGatewaysClaimsAreTakenOver() async throws {
        try await PrivateMariaDB.with { database in
            try await withCluster(nodes: 3, metadataURL: database.url) { cluster in
                await cluster.stopNode(3)
                try await cluster.waitForNode(3, status: "DOWN")
                var digests: [String: String] = [:]
                for index in 0..<3 {
                    let bytes = randomBytes(40_000 + index)
                    let answer = try await cluster.gateway.uploadRaw(bytes, filename: "t\(index)").expectingSuccess().json(
                        UploadAnswer.self)
                    digests[answer.file_id] = sha256Hex(bytes)
                }
                // A gateway that claims node-3's items and is then killed: its claims stay IN_PROGRESS in the
                // database, held by an owner that will never renew or finish them. (node-3 is DOWN, so the
                // running gateway cannot have claimed them first.)
                let dead = try await MySQLMetadataStore.open(
                    try MySQLConnectionOptions(url: database.url), logger: Logger(label: "dead-gateway"))
                let now = Date()
                let claimed = try await dead.claimQueueItems(
                    for: try NodeID(validating: "node-3"), owner: "dead-gateway", includeFailed: false, now: now,
                    leaseUntil: now.addingTimeInterval(3), limit: 100)
                try await dead.close()
                #expect(claimed.count == digests.count)

                try await cluster.startNode(3)
                try await eventually("the dead gateway's items are completed by the live one", timeout: .seconds(30)) {
                    let queue = try await cluster.gateway.getJSON("/replication-queue?node_id=node-3", as: QueueAnswer.self)
                    return queue.items.count == digests.count && queue.items.allSatisfy { $0.status == "COMPLETED" }
                }
                for (key, digest) in digests {
                    let blob = try await cluster.nodeClient(3).get("/blobs/\(key)").expectingSuccess()
                    #expect(sha256Hex(blob.body) == digest)
                }
            }
        }
    }

    @Test("a gateway killed with SIGKILL mid-repair: the other gateway finishes its claimed items after the lease, each once")
    func gatewayKilledMidRepairIsTakenOver() async throws {
        try await withSlowRepairsOfNode3(files: 12, named: "k") { database, cluster, digests in
            try await cluster.startNode(3)
            try await eventually("gateway A is repairing node-3", timeout: .seconds(30), interval: .milliseconds(50)) {
                let items = try await cluster.gateway.getJSON("/replication-queue?node_id=node-3", as: QueueAnswer.self).items
                return items.contains { $0.status == "COMPLETED" } && items.contains { $0.status == "IN_PROGRESS" }
            }
            _ = await cluster.local.stop(.gateway, immediately: true)

            try await withSecondGateway(of: cluster, metadataURL: database.url) { second in
                try await eventually(
                    "gateway B completes every item, A's claims once their lease ran out", timeout: .seconds(60)
                ) {
                    let items = try await second.getJSON("/replication-queue?node_id=node-3", as: QueueAnswer.self).items
                    return items.count == digests.count && items.allSatisfy { $0.status == "COMPLETED" }
                }
                let items = try await second.getJSON("/replication-queue?node_id=node-3", as: QueueAnswer.self).items
                #expect(Set(items.map(\.file_key)) == Set(digests.keys), "one item per file, none duplicated")
            }
            try await expectCopies(digests, on: cluster)
        }
    }

    @Test(
        "a gateway paused (SIGSTOP) mid-repair past its lease: the other takes its items over, and the late wake-up changes nothing"
    )
    func pausedGatewayLosesItsClaims() async throws {
        try await withSlowRepairsOfNode3(files: 8, named: "p") { database, cluster, digests in
            try await cluster.startNode(3)
            try await eventually(
                "gateway A holds claims on node-3's items", timeout: .seconds(30), interval: .milliseconds(50)
            ) {
                try await cluster.gateway.getJSON("/replication-queue?node_id=node-3", as: QueueAnswer.self).items.contains {
                    $0.status == "IN_PROGRESS"
                }
            }
            try await cluster.local.pause(.gateway)
            try await withSecondGateway(of: cluster, metadataURL: database.url) { second in
                try await eventually("gateway B finishes every item once A's leases ran out", timeout: .seconds(60)) {
                    let items = try await second.getJSON("/replication-queue?node_id=node-3", as: QueueAnswer.self).items
                    return items.count == digests.count && items.allSatisfy { $0.status == "COMPLETED" }
                }
                let before = try await second.getJSON("/replication-queue?node_id=node-3", as: QueueAnswer.self).items
                // A wakes up with transfers it started under claims it no longer holds.
                try await cluster.local.resume(.gateway)
                try await eventually("A noticed its claims were lost", timeout: .seconds(60)) {
                    cluster.logTail(of: .gateway, lines: 3000)?.contains("after its claim was lost") == true
                }
                let after = try await second.getJSON("/replication-queue?node_id=node-3", as: QueueAnswer.self).items
                #expect(
                    after.map(\.status) == before.map(\.status) && after.map(\.retry_count) == before.map(\.retry_count),
                    "the late completion or failure changed nothing")
                #expect(after.allSatisfy { $0.status == "COMPLETED" && $0.retry_count == 0 && $0.error_message == nil })
            }
            try await expectCopies(digests, on: cluster)
        }
    }

    /// A cluster on a private MariaDB whose gateway repairs slowly (rate cap) with a short lease, so a kill or pause
    /// lands while it holds claims: node-3 was down while `files` files were uploaded; `body` starts it again.
    private func withSlowRepairsOfNode3(
        files: Int, named prefix: String,
        _ body: (PrivateMariaDB, TestCluster, [String: String]) async throws -> Void
    ) async throws {
        try await PrivateMariaDB.with { database in
            let slowRepairs = [
                "--probe-interval", "300ms", "--recovery-interval", "1s", "--repair-lease", "3s",
                "--recovery-rate", "48KiB", "--recovery-concurrency", "2",
            ]
            try await withCluster(nodes: 3, metadataURL: database.url, gatewayArguments: slowRepairs) { cluster in
                await cluster.stopNode(3)
                try await cluster.waitForNode(3, status: "DOWN")
                var digests: [String: String] = [:]
                for index in 0..<files {
                    let bytes = randomBytes(40_000 + index)
                    let answer = try await cluster.gateway.uploadRaw(bytes, filename: "\(prefix)\(index)").expectingSuccess()
                        .json(UploadAnswer.self)
                    digests[answer.file_id] = sha256Hex(bytes)
                }
                try await body(database, cluster, digests)
            }
        }
    }

    /// Every file's copy on node-3 has the uploaded bytes.
    private func expectCopies(_ digests: [String: String], on cluster: TestCluster) async throws {
        for (key, digest) in digests {
            let blob = try await cluster.nodeClient(3).get("/blobs/\(key)").expectingSuccess()
            #expect(sha256Hex(blob.body) == digest)
        }
    }

    @Test(
        "MariaDB stopped under load: every request gets 503 JSON and the gateway keeps running; restarted: it recovers by itself")
    func databaseOutageAndRecovery() async throws {
        try await PrivateMariaDB.with { database in
            try await withCluster(nodes: 3, metadataURL: database.url) { cluster in
                let gateway = cluster.gateway
                let before = try await gateway.uploadRaw(randomBytes(50_000), filename: "before.bin").expectingSuccess().json(
                    UploadAnswer.self)

                try await database.pause()
                // Load while the database is away: every answer must be a 200 (served without metadata, e.g.
                // health) or a 503 JSON error, never another status, a hang or a crash.
                let responses = try await withThrowingTaskGroup(of: [TestResponse].self) { group in
                    for worker in 0..<4 {
                        group.addTask {
                            var answers: [TestResponse] = []
                            for round in 0..<10 {
                                answers.append(try await gateway.get("/files"))
                                answers.append(try await gateway.download(before.file_id))
                                answers.append(
                                    try await gateway.uploadRaw(randomBytes(10_000), filename: "during-\(worker)-\(round).bin"))
                            }
                            return answers
                        }
                    }
                    return try await group.reduce(into: [TestResponse]()) { $0 += $1 }
                }
                var statuses: [Int: Int] = [:]
                var unexpected: [String] = []
                for response in responses {
                    statuses[response.status, default: 0] += 1
                    if response.status != 503 || (try? response.jsonObject()["error"] as? String) != "metadata_unavailable" {
                        unexpected.append("\(response)")
                    }
                }
                #expect(unexpected.isEmpty, "answers other than 503 metadata_unavailable: \(unexpected.prefix(3))")
                #expect(statuses[503] == 120)
                let gatewayPID = await cluster.local.processID(of: .gateway)
                #expect(gatewayPID != nil, "the gateway must still be running")
                #expect(try await gateway.get("/health").status == 200)

                try await database.resume()
                // No gateway restart: the pool drops its dead connections and opens new ones on the next call.
                try await eventually("GET /files answers 200 again") { try await gateway.get("/files").status == 200 }
                let bytes = randomBytes(30_000)
                let after = try await gateway.uploadRaw(bytes, filename: "after.bin").expectingSuccess().json(UploadAnswer.self)
                #expect(try await gateway.download(after.file_id).expectingSuccess().body == bytes)
                #expect(try await gateway.download(before.file_id).status == 200)
            }
        }
    }
}

/// Starts one more gateway on `metadataURL`, knowing the cluster's nodes, and stops it after `body`.
private func withSecondGateway(
    of cluster: TestCluster, metadataURL: String, arguments extraArguments: [String] = [],
    _ body: (HTTPTestClient) async throws -> Void
) async throws {
    guard let port = LoopbackPort.free(count: 1).first else { throw MariaDBScriptFailed(description: "no free port") }
    var arguments = ["--recovery-interval", "1s", "--probe-interval", "500ms", "--health-timeout", "1s"] + extraArguments
    for number in 1...cluster.nodeCount { arguments += ["--node", "\(cluster.nodeID(number))=\(cluster.nodeURL(number))"] }
    let directory = cluster.workDirectory + "/gateway-2"
    var configuration = LocalClusterConfiguration(
        gatewayPort: port, nodePorts: [], dataDirectory: directory, metadataURL: metadataURL,
        gatewayArguments: arguments, logDirectory: directory + "/logs")
    // The nodes answer only their cluster's secret.
    configuration.clusterSecret = cluster.local.configuration.clusterSecretFile.map(ClusterSecretLocation.file) ?? .none
    let second = try LocalCluster(configuration)
    do {
        try await second.start()
        try await body(HTTPTestClient(baseURL: second.gatewayURL))
    } catch {
        await second.shutdown()
        FileHandle.standardError.write(Data("second gateway log:\n\(second.logTail(of: .gateway, lines: 60) ?? "(none)")\n".utf8))
        throw error
    }
    await second.shutdown()
}

/// A row of `GET /nodes`, the fields these tests read.
private struct NodeRow: Decodable {
    let id: String
    let status: String
}
