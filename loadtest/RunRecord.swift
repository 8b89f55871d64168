import Foundation
import Histogram

/// Everything one measured run leaves for `--report` and `--report-json`: the summary the text report prints,
/// the run second by second, the whole latency distribution, and the faults with the times they were applied.
struct RunRecord: Codable, Sendable {
    /// How the run is named in charts and tables: its routing policy, or e.g. "latency, no impairment".
    var label: String
    var summary: LoadReport
    var timeline: [RunTimeline.Second]
    /// The latency CDF: HdrHistogram's percentile iteration (5 steps per halving of the distance to 100%).
    var latencyPercentiles: [PercentilePoint]
    var faults: [AppliedFault]

    enum CodingKeys: String, CodingKey {
        case label, summary, timeline, faults
        case latencyPercentiles = "latency_percentiles"
    }
}

/// One point of a latency CDF: `percentile` % of the operations took at most `latencyMs`.
struct PercentilePoint: Codable, Sendable, Equatable {
    var percentile: Double
    var latencyMs: Double

    enum CodingKeys: String, CodingKey {
        case percentile
        case latencyMs = "latency_ms"
    }

    /// The distribution as HdrHistogram reports it (its `outputPercentileDistribution` steps), from microseconds.
    static func distribution(of histogram: Histogram<UInt64>, ticksPerHalfDistance: Int = 5) -> [PercentilePoint] {
        guard histogram.totalCount > 0 else { return [] }
        var points: [PercentilePoint] = []
        for step in histogram.percentiles(ticksPerHalfDistance: ticksPerHalfDistance) {
            let point = PercentilePoint(
                percentile: (step.percentileLevelIteratedTo * 10_000).rounded() / 10_000,
                latencyMs: RunTimeline.milliseconds(step.value))
            // Several levels may stop at one value; one point per level keeps the curve's steps.
            if points.last?.percentile != point.percentile { points.append(point) }
        }
        return points
    }
}

/// What `--report-json` writes: every run of the invocation and, for `--compare-routing`, the comparison, with the
/// command and the machine's load so a plot can say what it came from.
struct ReportDocument: Codable, Sendable {
    var generatedAt: String
    var command: [String]
    var processors: Int
    /// The 1, 5 and 15 minute load averages when the report was written (Linux), nil elsewhere.
    var loadAverage: [Double]?
    var runs: [RunRecord]
    var comparison: RoutingComparison?

    enum CodingKeys: String, CodingKey {
        case command, processors, runs, comparison
        case generatedAt = "generated_at"
        case loadAverage = "load_average"
    }

    init(runs: [RunRecord], comparison: RoutingComparison?, command: [String] = CommandLine.arguments, now: Date = Date()) {
        generatedAt = ISO8601DateFormatter().string(from: now)
        self.command = command
        processors = ProcessInfo.processInfo.activeProcessorCount
        loadAverage = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)).map { text in
            text.split(separator: " ").prefix(3).compactMap { Double($0) }
        }
        self.runs = runs
        self.comparison = comparison
    }

    // Absent values are null, never left out: a notebook reads the same keys from every file.
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(generatedAt, forKey: .generatedAt)
        try container.encode(command, forKey: .command)
        try container.encode(processors, forKey: .processors)
        try container.encode(loadAverage, forKey: .loadAverage)
        try container.encode(runs, forKey: .runs)
        try container.encode(comparison, forKey: .comparison)
    }

    var json: Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(self)) ?? Data()
    }
}
