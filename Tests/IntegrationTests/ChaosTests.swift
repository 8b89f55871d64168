import DFSCore
import Foundation
import Testing
import TestSupport

/// A small, seeded chaos run: nodes stop, crash and return while files are uploaded and
/// deleted; after recovery every acknowledged file is on every node with the right SHA-256, no deleted file is
/// anywhere, and the queue holds nothing PENDING or IN_PROGRESS. Replay a run with DFS_CHAOS_SEED=<seed>.
@Suite("Chaos", .serialized)
struct ChaosTests {
    @Test("random node stops, crashes and restarts during uploads and deletes: everything heals, nothing resurrects")
    func seededChaos() async throws {
        let seed =
            ProcessInfo.processInfo.environment["DFS_CHAOS_SEED"].flatMap(UInt64.init)
            ?? UInt64.random(in: 1...UInt64(UInt32.max))
        var random = SplitMix64(seed: seed)
        FileHandle.standardError.write(Data("chaos: seed \(seed) (replay with DFS_CHAOS_SEED=\(seed))\n".utf8))
        let started = ContinuousClock.now
        let arguments = [
            "--probe-interval", "250ms", "--recovery-interval", "1s", "--retry-backoff", "200ms", "--max-retries", "1000",
            "--audit-interval", "3s", "--orphan-grace", "1h",
        ]
        try await withCluster(nodes: 3, gatewayArguments: arguments) { cluster in
            var live: [String: String] = [:]  // acknowledged and not deleted: key → SHA-256
            var deleted: Set<String> = []
            var down: Set<Int> = []
            var faults = 0
            for step in 0..<200 {
                let roll = random.next(below: 100)
                if roll < 22 {
                    // A fault: take a node down (at most two at once) or bring one back.
                    if !down.isEmpty && (down.count == 2 || random.next(below: 2) == 0) {
                        let number = down.sorted()[Int(random.next(below: UInt64(down.count)))]
                        try await cluster.startNode(number)
                        down.remove(number)
                    } else {
                        let candidates = (1...3).filter { !down.contains($0) }
                        let number = candidates[Int(random.next(below: UInt64(candidates.count)))]
                        if random.next(below: 2) == 0 { await cluster.killNode(number) } else { await cluster.stopNode(number) }
                        down.insert(number)
                    }
                    faults += 1
                } else if roll < 40, !live.isEmpty {
                    let key = live.keys.sorted()[Int(random.next(below: UInt64(live.count)))]
                    let answer = try await cluster.gateway.delete("/files/\(key)")
                    if answer.status == 200 {
                        live[key] = nil
                        deleted.insert(key)
                    }
                } else {
                    let bytes = seededBytes(Int(random.next(below: 60_000)) + 1, using: &random)
                    let answer = try await cluster.gateway.uploadRaw(bytes, filename: "chaos-\(step).bin")
                    // A 503 (every node down) or an upload cut by a crash is not acknowledged: nothing is promised.
                    if answer.status == 200 { live[try answer.json(UploadAnswer.self).file_id] = sha256Hex(bytes) }
                }
            }
            for number in down.sorted() { try await cluster.startNode(number) }
            for number in 1...3 { try await cluster.waitForNode(number, status: "UP", timeout: .seconds(30)) }

            // The automatic retries alone must heal everything: an item that ends FAILED fails the run at once,
            // never something to recover by hand.
            var failedItems: [QueueAnswer.Item] = []
            try await eventually(
                "the queue has nothing PENDING, IN_PROGRESS or FAILED", timeout: .seconds(60), interval: .milliseconds(250)
            ) {
                let status = try await cluster.gateway.get("/status/replication").expectingSuccess().jsonObject()
                let queue = status["queue"] as? [String: Int] ?? [:]
                if (queue["FAILED"] ?? 0) > 0 {
                    failedItems = try await cluster.gateway.getJSON("/replication-queue?status=FAILED", as: QueueAnswer.self)
                        .items
                    return true
                }
                return queue["PENDING"] == 0 && queue["IN_PROGRESS"] == 0 && status["under_replicated_files"] as? Int == 0
            }
            #expect(
                failedItems.isEmpty,
                "items ended FAILED, seed \(seed): \(failedItems.map { "\($0.file_key)→\($0.target_node_id): \($0.error_message ?? "")" })"
            )
            guard failedItems.isEmpty else { return }
            for (key, digest) in live {
                for number in 1...3 {
                    let blob = try await cluster.nodeClient(number).get("/blobs/\(key)")
                    #expect(blob.status == 200 && sha256Hex(blob.body) == digest, "\(key) on node-\(number), seed \(seed)")
                }
            }
            try await eventually("no deleted file exists on any node", timeout: .seconds(30)) {
                for key in deleted {
                    for number in 1...3 where try await cluster.nodeClient(number).get("/blobs/\(key)").status != 404 {
                        return false
                    }
                }
                return true
            }
            let listed = try await cluster.gateway.getJSON("/files?limit=1000", as: FilesAnswer.self)
            #expect(Set(listed.files.map(\.file_key)) == Set(live.keys), "seed \(seed)")
            let elapsed = ContinuousClock.now - started
            FileHandle.standardError.write(
                Data(
                    "chaos: seed \(seed), \(faults) faults, \(live.count) files kept, \(deleted.count) deleted, ran \(elapsed)\n"
                        .utf8))
        }
    }
}

func seededBytes(_ count: Int, using random: inout SplitMix64) -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: count)
    var index = 0
    while index < count {
        var word = random.next()
        for _ in 0..<min(8, count - index) {
            bytes[index] = UInt8(truncatingIfNeeded: word)
            word >>= 8
            index += 1
        }
    }
    return bytes
}
