import Foundation

/// `--compare-routing`: the same workload under each gateway routing policy, each on a fresh cluster, with the
/// ratios against latency routing. When nodes are impaired (`--delay`, `--stall`), a first run under latency
/// routing without any impairment gives the baseline the impaired runs are held to.
struct RoutingComparison: Codable, Sendable {
    struct Row: Codable, Sendable {
        var label: String
        var routing: String
        var isImpaired: Bool
        var report: LoadReport
        /// This row's figure divided by the latency-routing row's (impaired runs) — above 1 is worse for latencies.
        var ratioVsLatency: [String: Double]

        enum CodingKeys: String, CodingKey {
            case label, routing, report
            case isImpaired = "impaired"
            case ratioVsLatency = "ratio_vs_latency"
        }
    }

    static let policies = ["latency", "round-robin", "random"]
    static let baselineLabel = "latency, no impairment"
    static let comparedFigures = ["p50", "p90", "p99", "p99.9", "ops_per_second"]

    var rows: [Row]

    init(baseline: LoadReport?, reports: [(routing: String, report: LoadReport)]) {
        let reference = reports.first { $0.routing == "latency" }?.report
        func ratios(_ report: LoadReport) -> [String: Double] {
            guard let reference else { return [:] }
            var ratios: [String: Double] = [:]
            for name in Self.comparedFigures {
                let mine = name == "ops_per_second" ? report.opsPerSecond : report.latency(name)
                let theirs = name == "ops_per_second" ? reference.opsPerSecond : reference.latency(name)
                if let mine, let theirs, theirs > 0 { ratios[name] = (mine / theirs * 1000).rounded() / 1000 }
            }
            return ratios
        }
        rows = []
        if let baseline {
            rows.append(Row(label: Self.baselineLabel, routing: "latency", isImpaired: false, report: baseline, ratioVsLatency: ratios(baseline)))
        }
        for (routing, report) in reports {
            rows.append(Row(label: routing, routing: routing, isImpaired: true, report: report, ratioVsLatency: ratios(report)))
        }
    }

    var table: String {
        func format(_ value: Double?) -> String { value.map { String(format: "%.2f", $0) } ?? "-" }
        func line(_ cells: [String]) -> String {
            zip(cells, [-24, 9, 9, 9, 9, 8, 7, 7, 0]).map { cell, width in
                let padding = String(repeating: " ", count: max(0, abs(width) - cell.count))
                return width < 0 ? cell + padding : padding + cell
            }.joined(separator: " ")
        }
        var lines: [String] = []
        if let first = rows.first?.report {
            lines.append("\(first.workload), \(first.fileSizeBytes) bytes per file, concurrency \(first.concurrency)")
        }
        lines.append(line(["routing", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "ops/s", "errors", "mism.", "  p50 / p99 / ops/s vs latency"]))
        for row in rows {
            let r = row.report
            let ratios = ["p50", "p99", "ops_per_second"].map { row.ratioVsLatency[$0].map { String(format: "%.2fx", $0) } ?? "-" }
            lines.append(line([
                row.label, format(r.latency("p50")), format(r.latency("p90")), format(r.latency("p99")), format(r.latency("p99.9")),
                String(format: "%.2f", r.opsPerSecond), "\(r.errors)", "\(r.mismatches)", "  " + ratios.joined(separator: " / "),
            ]))
        }
        for row in rows {
            for (node, what) in row.report.linkImpairments.sorted(by: { $0.key < $1.key }) { lines.append("  \(row.label), \(node): \(what)") }
            if row.report.hedgedDownloads > 0 || row.report.failovers > 0 {
                lines.append("  \(row.label): \(row.report.hedgedDownloads) hedged downloads, \(row.report.failovers) failovers")
            }
        }
        return lines.joined(separator: "\n")
    }

    var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }
}
