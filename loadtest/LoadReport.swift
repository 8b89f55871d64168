import Foundation
import Histogram

/// The outcome of a run, as a table for people and JSON for scripts.
struct LoadReport: Codable, Sendable {
    var target: String
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
    /// Download answers, those the gateway hedged (`x-dfs-hedged`), and failovers it reported (`x-dfs-failovers`).
    var downloadAnswers: Int
    var hedgedDownloads: Int
    var failovers: Int
    /// Per impaired node: what its proxy did, and how many responses began and were stalled there.
    var linkImpairments: [String: String]
    /// Succeeded and failed operations per kind (upload, download, delete).
    var byOperation: [String: OperationTally.Counts] = [:]
    /// With `--verify-after` (and `--churn`): what was found once the run was over.
    var afterRun: AfterRunCheck? = nil

    enum CodingKeys: String, CodingKey {
        case target, workload, concurrency, seconds, operations, errors, mismatches, faults, failovers
        case downloadAnswers = "download_answers"
        case hedgedDownloads = "hedged_downloads"
        case linkImpairments = "link_impairments"
        case fileSizeBytes = "file_size_bytes"
        case opsPerSecond = "ops_per_second"
        case megabytesPerSecond = "mb_per_second"
        case latencyMs = "latency_ms"
        case errorSamples = "error_samples"
        case byOperation = "by_operation"
        case afterRun = "after_run"
    }

    static let percentiles: [(String, Double)] = [("p50", 50), ("p90", 90), ("p99", 99), ("p99.9", 99.9), ("max", 100)]

    init(
        target: TargetKind, workload: String, fileSize: Int, concurrency: Int, elapsed: Duration,
        snapshot: LatencyRecorder.Snapshot, faults: [String], linkImpairments: [String: String]
    ) {
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        self.target = target.rawValue
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
        self.downloadAnswers = snapshot.downloadAnswers
        self.hedgedDownloads = snapshot.hedgedDownloads
        self.failovers = snapshot.failovers
        self.linkImpairments = linkImpairments
    }

    /// The p-th percentile latency in milliseconds, or nil when nothing succeeded.
    func latency(_ name: String) -> Double? { latencyMs[name] }

    var table: String {
        var lines = [
            "workload      \(workload) against a \(target), \(fileSizeBytes) bytes per file, concurrency \(concurrency)",
            "duration      \(String(format: "%.2f", seconds)) s",
            "operations    \(operations) (\(String(format: "%.2f", opsPerSecond)) ops/s, \(String(format: "%.2f", megabytesPerSecond)) MB/s)",
            "errors        \(errors)",
            "mismatches    \(mismatches)",
            "latency (ms)  " + Self.percentiles.map { name, _ in "\(name) \(latencyMs[name].map { String(format: "%.2f", $0) } ?? "-")" }.joined(separator: "  "),
        ]
        if !faults.isEmpty { lines.append("faults        " + faults.joined(separator: ", ")) }
        if hedgedDownloads > 0 || failovers > 0 {
            let share = downloadAnswers > 0 ? Double(hedgedDownloads) / Double(downloadAnswers) * 100 : 0
            lines.append("gateway       \(hedgedDownloads) of \(downloadAnswers) downloads hedged (\(String(format: "%.1f", share))% extra requests), \(failovers) failovers")
        }
        for (node, what) in linkImpairments.sorted(by: { $0.key < $1.key }) { lines.append("proxy         \(node): \(what)") }
        if byOperation.count > 1 || faults.count > 0 {
            for kind in OperationTally.Kind.allCases {
                guard let counts = byOperation[kind.rawValue] else { continue }
                let share = counts.successPercent.map { String(format: "%.2f%%", $0) } ?? "-"
                let gone = counts.goneByDelete > 0 ? ", \(counts.goneByDelete) answered 404 after the run deleted them" : ""
                lines.append(
                    "\(kind.rawValue.padding(toLength: 14, withPad: " ", startingAt: 0))\(counts.succeeded) of \(counts.attempted) succeeded (\(share))\(gone)")
            }
        }
        if let afterRun { lines += afterRun.table }
        for sample in errorSamples { lines.append("  error: \(sample)") }
        return lines.joined(separator: "\n")
    }

    var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }
}
