import DFSMetadata
import Foundation
import Hummingbird

/// `GET /status/history`: the recent samples of every node and of the cluster, plus the replication status of now
/// (the same object as `GET /status/replication`, so a dashboard polls one instead of both). Times are Unix
/// seconds; rates are per second over the time since the previous sample.
struct HistoryResponse: ResponseEncodable {
    struct Node: Encodable {
        var id: String
        var samples: [NodePoint]
    }

    struct NodePoint: Encodable {
        var t: Double
        var up: Bool
        var ejected: Bool
        var latency_ms: Double?
        var in_flight: Int
        var requests_per_second: Double?
        var errors_per_second: Double?

        init(_ sample: NodeSample) {
            t = unixSeconds(sample.time)
            up = sample.isUp
            ejected = sample.isEjected
            latency_ms = sample.latencyMs.map(roundedMs)
            in_flight = sample.inFlight
            requests_per_second = sample.requestsPerSecond.map(roundedRate)
            errors_per_second = sample.errorsPerSecond.map(roundedRate)
        }

        // Unknown values are `null`, never left out, like every other answer of the gateway.
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(t, forKey: .t)
            try container.encode(up, forKey: .up)
            try container.encode(ejected, forKey: .ejected)
            try container.encode(latency_ms, forKey: .latency_ms)
            try container.encode(in_flight, forKey: .in_flight)
            try container.encode(requests_per_second, forKey: .requests_per_second)
            try container.encode(errors_per_second, forKey: .errors_per_second)
        }

        enum CodingKeys: String, CodingKey {
            case t, up, ejected, latency_ms, in_flight, requests_per_second, errors_per_second
        }
    }

    struct TrafficPoint: Encodable {
        var t: Double
        var uploads_per_second: Double
        var downloads_per_second: Double
        var server_errors_per_second: Double
        var received_bytes_per_second: Double
        var sent_bytes_per_second: Double

        init(_ sample: TrafficSample) {
            t = unixSeconds(sample.time)
            uploads_per_second = roundedRate(sample.uploadsPerSecond)
            downloads_per_second = roundedRate(sample.downloadsPerSecond)
            server_errors_per_second = roundedRate(sample.serverErrorsPerSecond)
            received_bytes_per_second = sample.receivedBytesPerSecond.rounded()
            sent_bytes_per_second = sample.sentBytesPerSecond.rounded()
        }
    }

    struct ReplicationPoint: Encodable {
        var t: Double
        var under_replicated_files: Int
        var under_replicated_bytes: Int64
        /// Items per status, every status present.
        var queue: [String: Int]

        init(_ sample: ReplicationSample) {
            t = unixSeconds(sample.time)
            under_replicated_files = sample.underReplicatedFiles
            under_replicated_bytes = sample.underReplicatedBytes
            queue = Dictionary(uniqueKeysWithValues: QueueItemStatus.allCases.map { ($0.rawValue, sample.queueCounts[$0] ?? 0) })
        }
    }

    struct Cluster: Encodable {
        var traffic: [TrafficPoint]
        var replication: [ReplicationPoint]
    }

    var interval_seconds: Double
    var window_seconds: Double
    var replication_status: ReplicationStatusResponse
    var nodes: [Node]
    var cluster: Cluster

    init(_ snapshot: HistorySnapshot, interval: Duration, window: Duration, status: ReplicationStatusResponse) {
        interval_seconds = interval.inSeconds
        window_seconds = window.inSeconds
        replication_status = status
        nodes = snapshot.nodes.map { Node(id: $0.id.rawValue, samples: $0.samples.map(NodePoint.init)) }
        cluster = Cluster(
            traffic: snapshot.traffic.map(TrafficPoint.init), replication: snapshot.replication.map(ReplicationPoint.init))
    }
}

/// Millisecond precision, the labels' own: what a chart needs and what `?since=` sends back.
private func unixSeconds(_ date: Date) -> Double { Double(MetricsHistory.milliseconds(date)) / 1000 }

private func roundedRate(_ value: Double) -> Double { (value * 1000).rounded() / 1000 }
