import Foundation
import Testing
import TestSupport

/// `GET /status/history`: the samples behind the dashboard's charts, from a real gateway and nodes.
@Suite("GET /status/history", .serialized)
struct HistoryEndpointTests {
    struct History: Decodable {
        struct Node: Decodable {
            let id: String
            let samples: [Sample]
        }
        struct Sample: Decodable {
            let t: Double
            let up: Bool
            let latency_ms: Double?
            let in_flight: Int
            let requests_per_second: Double?
        }
        struct Traffic: Decodable {
            let t: Double
            let uploads_per_second: Double
            let downloads_per_second: Double
            let sent_bytes_per_second: Double
        }
        struct Replication: Decodable {
            let t: Double
            let under_replicated_files: Int
            let queue: [String: Int]
        }
        struct Cluster: Decodable {
            let traffic: [Traffic]
            let replication: [Replication]
        }
        struct Status: Decodable {
            let replication_factor: Int
            let nodes_total: Int
        }
        let interval_seconds: Double
        let window_seconds: Double
        let replication_status: Status
        let nodes: [Node]
        let cluster: Cluster

        var newest: Double {
            (nodes.flatMap { $0.samples.map(\.t) } + cluster.traffic.map(\.t) + cluster.replication.map(\.t)).max() ?? 0
        }
        func node(_ id: String) -> Node? { nodes.first { $0.id == id } }
    }

    @Test(
        "samples follow the traffic; a killed node turns DOWN and its request rate drops to zero; since returns only newer samples"
    )
    func historyFollowsTraffic() async throws {
        try await withCluster(nodes: 3) { cluster in
            let bytes = randomBytes(64 * 1024)
            let key = try #require(
                try await cluster.gateway.uploadRaw(bytes, filename: "history.bin").expectingSuccess().jsonObject()["file_id"]
                    as? String)
            for _ in 0..<20 { _ = try await cluster.gateway.download(key).expectingSuccess() }

            var history = try await cluster.gateway.getJSON("/status/history", as: History.self)
            try await eventually("the downloads show in the traffic samples") {
                history = try await cluster.gateway.getJSON("/status/history", as: History.self)
                return history.cluster.traffic.contains { $0.downloads_per_second > 0 && $0.sent_bytes_per_second > 0 }
                    && history.cluster.traffic.contains { $0.uploads_per_second > 0 }
            }
            #expect(history.interval_seconds == 1)
            #expect(history.window_seconds == 300)
            #expect(history.replication_status.replication_factor == 3 && history.replication_status.nodes_total == 3)
            #expect(history.nodes.map(\.id) == ["node-1", "node-2", "node-3"])
            #expect(history.nodes.allSatisfy { $0.samples.count >= 2 && $0.samples.allSatisfy(\.up) })
            let replication = try #require(history.cluster.replication.last)
            #expect(replication.under_replicated_files == 0)
            #expect(Set(replication.queue.keys) == ["PENDING", "IN_PROGRESS", "COMPLETED", "FAILED", "CANCELLED"])

            // The node that served the most is the one killed: its line must fall to zero while the others carry on.
            let busiest = try #require(history.nodes.max { total($0) < total($1) })
            #expect(total(busiest) > 0, "no node shows any request: \(history.nodes.map { ($0.id, total($0)) })")
            let number = try #require(Int(busiest.id.dropFirst("node-".count)))
            await cluster.killNode(number)
            try await cluster.waitForNode(number, status: "DOWN")
            // Downloads go on meanwhile; a sample is taken each second, so the others' part shows a second later.
            try await eventually(
                "\(busiest.id) DOWN in the history with no requests while the others serve the downloads",
                timeout: .seconds(20)
            ) {
                _ = try await cluster.gateway.download(key).expectingSuccess()
                history = try await cluster.gateway.getJSON("/status/history", as: History.self)
                guard let latest = history.node(busiest.id)?.samples.suffix(2), latest.count == 2 else { return false }
                let served = history.nodes.filter { $0.id != busiest.id }.map {
                    $0.samples.suffix(3).compactMap(\.requests_per_second).reduce(0, +)
                }
                return latest.allSatisfy { !$0.up && $0.requests_per_second == 0 } && served.reduce(0, +) > 0
            }

            let newest = history.newest
            let newer = try await cluster.gateway.getJSON("/status/history?since=\(newest)", as: History.self)
            let times =
                newer.nodes.flatMap { $0.samples.map(\.t) } + newer.cluster.traffic.map(\.t) + newer.cluster.replication.map(\.t)
            #expect(times.allSatisfy { $0 > newest }, "since=\(newest) returned \(times.filter { $0 <= newest })")
            #expect(newer.nodes.allSatisfy { $0.samples.count <= 3 })

            for bad in ["abc", "-1", "0x10", "inf", ""] {
                let answer = try await cluster.gateway.get("/status/history?since=\(bad)")
                #expect(answer.status == 400, "since=\(bad): \(answer)")
                #expect(try answer.jsonObject()["error"] as? String == "bad_request")
            }
        }
    }

    private func total(_ node: History.Node) -> Double { node.samples.compactMap(\.requests_per_second).reduce(0, +) }
}
