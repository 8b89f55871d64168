import Foundation
import Histogram

/// The outcome of a run, as a table for people and JSON for scripts.
struct LoadReport: Codable, Sendable {
    var workload: String
    var fileSizeBytes: Int
    var concurrency: Int
    var seconds: Double
    var operations: Int
    var errors: Int
    var mismatches: Int
    var opsPerSecond: Double
    var megabytesPerSecond: Double
    var latencyMs: [String: Double]
    var faults: [String]
    var errorSamples: [String]

    enum CodingKeys: String, CodingKey {
        case workload, concurrency, seconds, operations, errors, mismatches, faults
        case fileSizeBytes = "file_size_bytes"
        case opsPerSecond = "ops_per_second"
        case megabytesPerSecond = "mb_per_second"
        case latencyMs = "latency_ms"
        case errorSamples = "error_samples"
    }

    static let percentiles: [(String, Double)] = [("p50", 50), ("p90", 90), ("p99", 99), ("p99.9", 99.9), ("max", 100)]

    init(workload: String, fileSize: Int, concurrency: Int, elapsed: Duration, snapshot: LatencyRecorder.Snapshot, faults: [String]) {
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        self.workload = workload
        self.fileSizeBytes = fileSize
        self.concurrency = concurrency
        self.seconds = (seconds * 1000).rounded() / 1000
        self.operations = snapshot.operations
        self.errors = snapshot.errors
        self.mismatches = snapshot.mismatches
        self.opsPerSecond = seconds > 0 ? (Double(snapshot.operations) / seconds * 100).rounded() / 100 : 0
        self.megabytesPerSecond = seconds > 0 ? (Double(snapshot.bytes) / 1_000_000 / seconds * 100).rounded() / 100 : 0
        var latency: [String: Double] = [:]
        if snapshot.histogram.totalCount > 0 {
            for (name, percentile) in Self.percentiles {
                let micros = percentile >= 100 ? snapshot.histogram.max : snapshot.histogram.valueAtPercentile(percentile)
                latency[name] = (Double(micros) / 10).rounded() / 100
            }
        }
        self.latencyMs = latency
        self.faults = faults
        self.errorSamples = snapshot.errorSamples
    }

    var table: String {
        var lines = [
            "workload      \(workload), \(fileSizeBytes) bytes per file, concurrency \(concurrency)",
            "duration      \(String(format: "%.2f", seconds)) s",
            "operations    \(operations) (\(String(format: "%.2f", opsPerSecond)) ops/s, \(String(format: "%.2f", megabytesPerSecond)) MB/s)",
            "errors        \(errors)",
            "mismatches    \(mismatches)",
            "latency (ms)  " + Self.percentiles.map { name, _ in "\(name) \(latencyMs[name].map { String(format: "%.2f", $0) } ?? "-")" }.joined(separator: "  "),
        ]
        if !faults.isEmpty { lines.append("faults        " + faults.joined(separator: ", ")) }
        for sample in errorSamples { lines.append("  error: \(sample)") }
        return lines.joined(separator: "\n")
    }

    var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }
}
