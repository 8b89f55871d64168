import DFSServer
import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
import TestSupport

@testable import Gateway

/// One sample line of the Prometheus text format: `name{label="value",…} number`.
struct MetricSample: Equatable {
    var name: String
    var labels: [String: String]
    var value: Double
}

/// The parts of a scrape the tests look at: `# TYPE` lines and samples.
struct Exposition {
    var types: [String: String] = [:]
    var samples: [MetricSample] = []

    init(parsing text: String) throws {
        for line in text.split(separator: "\n") {
            if line.hasPrefix("# TYPE ") {
                let fields = line.split(separator: " ")
                if fields.count == 4 { types[String(fields[2])] = String(fields[3]) }
                continue
            }
            if line.hasPrefix("#") || line.isEmpty { continue }
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else {
                throw ExpositionError(line: String(line))
            }
            let series = line[..<space]
            var labels: [String: String] = [:]
            var name = String(series)
            if let open = series.firstIndex(of: "{"), series.hasSuffix("}") {
                name = String(series[..<open])
                let body = series[series.index(after: open)..<series.index(before: series.endIndex)]
                for pair in body.split(separator: ",") {
                    let parts = pair.split(separator: "=", maxSplits: 1)
                    guard parts.count == 2 else { throw ExpositionError(line: String(line)) }
                    labels[String(parts[0])] = parts[1].trimmingCharacters(in: CharacterSet(charactersIn: "\""))
                }
            }
            samples.append(MetricSample(name: name, labels: labels, value: value))
        }
    }

    /// The sum over every series of `name` whose labels include `matching`.
    func total(_ name: String, _ matching: [String: String] = [:]) -> Double {
        samples.filter { sample in sample.name == name && matching.allSatisfy { sample.labels[$0.key] == $0.value } }.reduce(0) {
            $0 + $1.value
        }
    }
}

struct ExpositionError: Error, CustomStringConvertible {
    let line: String
    var description: String { "not a Prometheus sample line: \(line)" }
}

/// `/metrics` serves every family `GatewayMetrics` declares, and the counters move with traffic.
@Suite("GET /metrics", .serialized)
struct MetricsExpositionTests {
    @Test(
        "every declared metric is served with its type, labels stay bounded, and counters move with uploads, downloads, repairs and audits"
    )
    func everyDeclaredMetricMoves() async throws {
        try await withCluster(nodes: 3, gatewayArguments: ["--audit-interval", "0", "--recovery-interval", "1h"]) { cluster in
            let before = try Exposition(parsing: try await cluster.gateway.get("/metrics").expectingSuccess().text)
            let bytes = (0..<150_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
            let upload = try await cluster.gateway.uploadRaw(bytes, filename: "metrics.bin").expectingSuccess()
            let key = try #require(try upload.jsonObject()["file_id"] as? String)
            #expect(try await cluster.gateway.download(key).expectingSuccess().body == bytes)

            // A repair: node-3 misses an upload and gets it back through a manual recover.
            await cluster.stopNode(3)
            try await cluster.waitForNode(3, status: "DOWN")
            _ = try await cluster.gateway.uploadRaw(Array(bytes.prefix(40_000)), filename: "later.bin").expectingSuccess()
            try await cluster.startNode(3)
            try await cluster.waitForNode(3, status: "UP")
            _ = try await cluster.gateway.post("/nodes/node-3/recover").expectingSuccess()
            // The probe loop may have taken the item before the manual recover: wait for whichever finishes it.
            try await eventually("the repair is counted") {
                let scrape = try Exposition(parsing: try await cluster.gateway.get("/metrics").expectingSuccess().text)
                return scrape.total("dfs_recovery_repaired_items_total") >= 1
            }
            _ = try await cluster.gateway.post("/audit").expectingSuccess()

            let text = try await cluster.gateway.get("/metrics").expectingSuccess().text
            let after = try Exposition(parsing: text)
            for declaration in GatewayMetrics.declarations {
                #expect(after.types[declaration.name] == declaration.kind.rawValue, "\(declaration.name) missing or mistyped")
                let suffixes = declaration.kind == .histogram ? ["_bucket", "_sum", "_count"] : [""]
                let series = after.samples.filter { sample in suffixes.contains { declaration.name + $0 == sample.name } }
                #expect(!series.isEmpty, "\(declaration.name) has no series")
                for sample in series {
                    #expect(
                        Set(sample.labels.keys).subtracting(["le"]) == Set(declaration.labels),
                        "\(sample.name) labels \(sample.labels)")
                }
            }
            #expect(!text.contains(key), "a file key leaked into a label")

            let upload200 = ["route": "/upload", "method": "POST", "status": "200"]
            #expect(after.total("dfs_http_requests_total", upload200) - before.total("dfs_http_requests_total", upload200) == 2)
            #expect(after.total("dfs_http_request_duration_seconds_count", ["route": "/download/{key}", "status": "200"]) >= 1)
            #expect(after.total("dfs_http_received_bytes_total", ["route": "/upload"]) >= 190_000)
            #expect(after.total("dfs_http_sent_bytes_total", ["route": "/download/{key}"]) >= 150_000)
            #expect(after.total("dfs_node_request_duration_seconds_count", ["operation": "put", "outcome": "ok"]) >= 2)
            #expect(
                after.total("dfs_node_request_duration_seconds_count", ["operation": "health"])
                    > before.total("dfs_node_request_duration_seconds_count", ["operation": "health"]))
            #expect(
                after.total("dfs_metadata_operation_duration_seconds_count", ["operation": "recordUpload", "outcome": "ok"]) == 2)
            #expect(after.total("dfs_recovery_repaired_items_total") >= 1)
            #expect(after.total("dfs_recovery_repaired_bytes_total") >= 40_000)
            #expect(after.total("dfs_audit_replicas_checked_total") >= 1)
            #expect(after.total("dfs_audit_last_completed_timestamp_seconds") > 1_600_000_000)
            #expect(after.total("dfs_nodes_total") == 3)
        }
    }

    @Test("the request middleware labels by route template, never the raw path, and counts body bytes both ways")
    func requestMiddleware() async throws {
        let metrics = GatewayMetrics()
        let router = Router(context: GatewayContext.self)
        router.add(middleware: RequestMetricsMiddleware(metrics: metrics))
        router.add(middleware: APIErrorMiddleware(mapping: APIError.init(mapping:)))
        router.post("/echo/:key") { request, _ in
            Response(status: .ok, body: ResponseBody(byteBuffer: try await request.body.collect(upTo: 1 << 20)))
        }
        try await Application(router: router).test(.router) { client in
            let echoed = try await client.execute(
                uri: "/echo/some-file-key", method: .post, body: ByteBuffer(repeating: 7, count: 1000))
            #expect(echoed.body.readableBytes == 1000)
            #expect(try await client.execute(uri: "/no/such/route", method: .get).status == .notFound)
        }
        let text = metrics.registry.emitToString()
        let scrape = try Exposition(parsing: text)
        #expect(scrape.total("dfs_http_requests_total", ["route": "/echo/{key}", "method": "POST", "status": "200"]) == 1)
        #expect(scrape.total("dfs_http_request_duration_seconds_count", ["route": "/echo/{key}"]) == 1)
        #expect(scrape.total("dfs_http_received_bytes_total", ["route": "/echo/{key}"]) == 1000)
        #expect(scrape.total("dfs_http_sent_bytes_total", ["route": "/echo/{key}"]) == 1000)
        #expect(scrape.total("dfs_http_requests_total", ["route": "unmatched", "method": "GET", "status": "404"]) == 1)
        #expect(!text.contains("some-file-key") && !text.contains("/no/such/route"))
    }

    @Test("the README's Metrics section lists every declared metric")
    func readmeListsEveryMetric() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        let section = try #require(readme.range(of: "## Metrics").map { String(readme[$0.upperBound...]) })
        for declaration in GatewayMetrics.declarations {
            #expect(section.contains("`\(declaration.name)`"), "README does not list \(declaration.name)")
        }
    }
}
