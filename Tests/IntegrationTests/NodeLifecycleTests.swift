import DFSCore
import Foundation
import Synchronization
import Testing
import TestSupport

/// Drain, remove, a joining node filled by rebalancing, and trimming, on real processes (SPEC §10).
@Suite("Node lifecycle on a live cluster", .serialized)
struct NodeLifecycleTests {
    /// Downloads random files in a loop until stopped, checking each body's SHA-256.
    final class DownloadLoop: Sendable {
        let files: [(key: String, sha256: String)]
        private let stopped = Mutex(false)
        private let tally = Mutex((done: 0, failures: [String]()))

        init(_ files: [String: String]) { self.files = files.map { ($0.key, $0.value) } }

        func run(through gateway: HTTPTestClient) async {
            var random = SystemRandomNumberGenerator()
            while !stopped.withLock({ $0 }) {
                let file = files[Int(random.next(upperBound: UInt64(files.count)))]
                var failure: String? = nil
                do {
                    let answer = try await gateway.download(file.key)
                    if answer.status != 200 {
                        failure = "\(file.key): \(answer.status) \(String(decoding: answer.body.prefix(200), as: UTF8.self))"
                    } else if sha256Hex(answer.body) != file.sha256 {
                        failure = "\(file.key): wrong bytes"
                    }
                } catch {
                    failure = "\(file.key): \(error)"
                }
                tally.withLock { tally in
                    tally.done += 1
                    if let failure { tally.failures.append(failure) }
                }
            }
        }

        func stop() -> (done: Int, failures: [String]) {
            stopped.withLock { $0 = true }
            return tally.withLock { $0 }
        }
    }

    @Test(
        "a drained node ends DRAINED with every file on 3 nodes in 3 zones and no failed download; it is removed; a joining node is filled to its share"
    )
    func drainRemoveAndFill() async throws {
        // Node 7 takes node 2's zone: with copies kept one per zone, its share can only come from rack-b.
        let zones = [1: "rack-a", 2: "rack-b", 3: "rack-c", 4: "rack-a", 5: "rack-b", 6: "rack-c", 7: "rack-b"]
        try await withCluster(
            nodes: 7, nodeArguments: ["--heartbeat-interval", "500ms"], perNodeArguments: zones.mapValues { ["--zone", $0] }
        ) { cluster in
            let gateway = cluster.gateway
            // Node 7 joins later: until then it is DOWN and placement leaves it out.
            await cluster.stopNode(7)
            try await cluster.waitForNode(7, status: "DOWN")
            let files = try await uploadFiles(150, bytesEach: 200_000, through: gateway)

            let drained = cluster.nodeID(2)
            let loop = DownloadLoop(files)
            let downloads = Task { await loop.run(through: gateway) }
            #expect(try await gateway.post("/nodes/\(drained)/drain").status == 200)
            // A DRAINING node cannot be removed without force.
            #expect(try await gateway.delete("/nodes/\(drained)").status == 409)
            try await eventually("\(drained) is DRAINED", timeout: .seconds(90)) {
                try await nodeRow(drained, gateway)?.state == "DRAINED"
            }
            let outcome = loop.stop()
            await downloads.value
            #expect(outcome.failures.isEmpty, "\(outcome.failures.prefix(5))")
            #expect(outcome.done > 0)
            let zoneOf = Dictionary(uniqueKeysWithValues: (1...7).map { (cluster.nodeID($0), zones[$0]!) })
            for replicas in try await replicaSetsOfEveryFile(gateway) {
                #expect(Set(replicas).count == 3 && !replicas.contains(drained), "\(replicas)")
                #expect(Set(replicas.compactMap { zoneOf[$0] }).count == 3, "\(replicas)")
            }
            // The drained node's blobs are gone from its disk too (deleted directly or through the queue).
            try await eventually("\(drained) holds no blob", timeout: .seconds(30)) {
                try await nodeRow(drained, gateway)?.blob_count == 0
            }
            #expect(try await gateway.delete("/nodes/\(cluster.nodeID(1))").status == 409)
            #expect(try await gateway.delete("/nodes/\(drained)").status == 200)
            #expect(try await nodeRow(drained, gateway) == nil)
            // Its process still runs and heartbeats: the gateway does not let it join again.
            try await Task.sleep(for: .seconds(2))
            #expect(try await nodeRow(drained, gateway) == nil)
            await cluster.stopNode(2)
            for (key, sha) in files.prefix(10) {
                let answer = try await gateway.download(key)
                #expect(answer.status == 200 && sha256Hex(answer.body) == sha)
            }

            // Node 7 joins, empty: rebalancing moves copies to it until it holds its share (within 5 %).
            try await cluster.startNode(7)
            try await cluster.waitForNode(7, status: "UP")
            let joined = cluster.nodeID(7)
            try await eventually("\(joined) holds its share", timeout: .seconds(90)) {
                let rows = try await gateway.getJSON("/nodes", as: [NodeListRow].self)
                let stored = rows.compactMap(\.blob_count).reduce(0, +)
                guard let mine = rows.first(where: { $0.id == joined })?.blob_count, rows.count == 6 else { return false }
                let share = Double(stored) / 6
                return abs(Double(mine) - share) <= 0.05 * share
            }
            for replicas in try await replicaSetsOfEveryFile(gateway) {
                #expect(Set(replicas).count == 3, "\(replicas)")
            }
        }
    }

    @Test("copies re-made during a long outage are trimmed once the node is back: every file ends with 3 copies")
    func extraCopiesAreTrimmed() async throws {
        try await withCluster(nodes: 4, gatewayArguments: ["--rereplicate-after", "1s"]) { cluster in
            let gateway = cluster.gateway
            let files = try await uploadFiles(20, bytesEach: 10_000, through: gateway)
            await cluster.stopNode(1)
            try await cluster.waitForNode(1, status: "DOWN")
            // The outage outlasts --rereplicate-after: the copies node-1 held are re-made on node-4 or others.
            try await eventually("every file has 3 copies on serving nodes", timeout: .seconds(60)) {
                try await replicaSetsOfEveryFile(gateway).allSatisfy { Set($0).subtracting([cluster.nodeID(1)]).count >= 3 }
            }
            let overReplicated = try await replicaSetsOfEveryFile(gateway).filter { $0.count > 3 }.count
            #expect(overReplicated > 0)
            try await cluster.startNode(1)
            try await cluster.waitForNode(1, status: "UP")
            try await eventually("every file is back to 3 copies", timeout: .seconds(60)) {
                try await replicaSetsOfEveryFile(gateway).allSatisfy { $0.count == 3 }
            }
            for (key, sha) in files {
                let answer = try await gateway.download(key)
                #expect(answer.status == 200 && sha256Hex(answer.body) == sha)
            }
        }
    }

    @Test("drain, activate and remove answer clear errors: unknown node 404, too few nodes 409, bad force 400")
    func lifecycleErrors() async throws {
        try await withCluster(nodes: 3) { cluster in
            let gateway = cluster.gateway
            #expect(try await gateway.post("/nodes/node-99/drain").status == 404)
            let tooFew = try await gateway.post("/nodes/\(cluster.nodeID(1))/drain")
            #expect(tooFew.status == 409 && String(decoding: tooFew.body, as: UTF8.self).contains("too_few_nodes"))
            #expect(try await gateway.delete("/nodes/\(cluster.nodeID(1))?force=maybe").status == 400)
            let activated = try await gateway.post("/nodes/\(cluster.nodeID(1))/activate")
            #expect(activated.status == 200 && String(decoding: activated.body, as: UTF8.self).contains("ACTIVE"))
        }
    }

    private func nodeRow(_ id: String, _ gateway: HTTPTestClient) async throws -> NodeListRow? {
        try await gateway.getJSON("/nodes", as: [NodeListRow].self).first { $0.id == id }
    }

    /// Uploads `count` distinct files; returns key → SHA-256.
    private func uploadFiles(_ count: Int, bytesEach: Int, through gateway: HTTPTestClient) async throws -> [String: String] {
        var files: [String: String] = [:]
        var random = SplitMix64(seed: 7)
        for index in 0..<count {
            let bytes = seededBytes(bytesEach, using: &random)
            let answer = try await gateway.uploadRaw(bytes, filename: "lifecycle-\(index).bin")
            #expect(answer.status == 200)
            let receipt = try answer.json(UploadAnswer.self)
            files[receipt.file_id] = sha256Hex(bytes)
        }
        return files
    }
}
