import Foundation

/// `--report FILE.html`: one self-contained page (inline SVG and CSS, no script, nothing fetched) with each run's
/// latency (p50/p99 per second) and throughput over time, every fault as a marked vertical line, and the latency
/// CDF of every run on one chart; for `--compare-routing` also the ratio table. Well-formed XML throughout, so a
/// test can parse the whole page.
struct HTMLReport {
    let document: ReportDocument

    init(_ document: ReportDocument) { self.document = document }

    var html: String {
        var body: [String] = []
        body.append("<h1>dfs-loadtest report</h1>")
        body.append(#"<p class="meta">\#(escapeXML(metaLine))</p>"#)
        body.append(#"<p class="meta"><code>\#(escapeXML(document.command.joined(separator: " ")))</code></p>"#)
        body.append(summaryTable)
        body.append(#"<section id="latency-cdf">"#)
        body.append("<h2>Latency distribution</h2>")
        body.append(cdfChart.html)
        if let comparison = document.comparison { body.append(ratioTable(comparison)) }
        body.append("</section>")
        for (index, run) in document.runs.enumerated() {
            body.append(#"<section class="run" id="run-\#(index + 1)" data-label="\#(escapeXML(run.label))">"#)
            body.append("<h2>\(escapeXML(runTitle(run)))</h2>")
            if !run.faults.isEmpty { body.append(faultTable(run)) }
            body.append(#"<div class="pair">"#)
            body.append(latencyChart(run).html)
            body.append(throughputChart(run).html)
            body.append("</div></section>")
        }
        return """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8"/>
            <meta name="viewport" content="width=device-width, initial-scale=1"/>
            <title>dfs-loadtest report</title>
            <style>
            \(Self.style)
            </style>
            </head>
            <body>
            \(body.joined(separator: "\n"))
            </body>
            </html>

            """
    }

    // MARK: charts

    /// Every run's CDF on one chart, percentiles spread by their nines, latency on a log scale.
    var cdfChart: SVGChart {
        let runs = document.runs.filter { !$0.latencyPercentiles.isEmpty }
        let operations = runs.map(\.summary.operations).max() ?? 0
        // Enough nines to reach the slowest single operation of the largest run, at least two (99 %).
        let nines = min(6, max(2, Int(ceil(log10(Double(max(operations, 1)))))))
        let latencies = runs.flatMap { $0.latencyPercentiles.map(\.latencyMs) }.filter { $0 > 0 }
        let (yScale, yTicks) = ChartScale.logarithmic(covering: (latencies.min() ?? 1)...(latencies.max() ?? 10))
        var xTicks: [(Double, String)] = [(0, "0%"), (50, "50%")]
        for count in 1...nines { xTicks.append((100 - 100 / pow(10, Double(count)), Self.percentLabel(count))) }
        return SVGChart(
            title: runs.count > 1 ? "Latency CDF, every run (HdrHistogram percentiles)" : "Latency CDF (HdrHistogram percentiles)",
            cssClass: "cdf", x: ChartScale(kind: .percentileNines, lower: 0, upper: Double(nines)),
            xTicks: xTicks.map { (value: $0.0, label: $0.1) }, xLabel: "percentile (log scale of 1 / (1 − p))",
            y: yScale, yTicks: yTicks.map { (value: $0, label: Self.number($0)) }, yLabel: "latency (ms, log scale)",
            series: runs.enumerated().map { index, run in
                ChartSeries(name: run.label, cssClass: "s\(index % 6)", points: run.latencyPercentiles.map { (x: $0.percentile, y: $0.latencyMs) })
            })
    }

    /// The seconds a time chart draws: the run's last second is left out when it lasted under half a second, since
    /// it holds only the operations still in flight at the end, whose count over so short a time reads as a spike.
    static func chartedSeconds(_ run: RunRecord) -> [RunTimeline.Second] {
        run.timeline.filter { $0.durationSeconds >= 0.5 }
    }

    func latencyChart(_ run: RunRecord) -> SVGChart {
        let seconds = Self.chartedSeconds(run)
        let (yScale, yTicks) = ChartScale.linearFromZero(to: seconds.compactMap(\.p99Ms).max() ?? 1)
        return timeChart(
            run, title: "Latency over time, p50 and p99 of the operations finished each second", cssClass: "latency-over-time",
            y: yScale, yTicks: yTicks, yLabel: "latency (ms)",
            series: [
                ChartSeries(name: "p50", cssClass: "s0", points: seconds.map { (x: Self.middle($0), y: $0.p50Ms) }),
                ChartSeries(name: "p99", cssClass: "s1", points: seconds.map { (x: Self.middle($0), y: $0.p99Ms) }),
            ])
    }

    func throughputChart(_ run: RunRecord) -> SVGChart {
        let seconds = Self.chartedSeconds(run)
        let (yScale, yTicks) = ChartScale.linearFromZero(to: seconds.map(\.operationsPerSecond).max() ?? 1)
        return timeChart(
            run, title: "Throughput over time", cssClass: "throughput-over-time", y: yScale, yTicks: yTicks, yLabel: "operations per second",
            series: [
                ChartSeries(name: "operations/s", cssClass: "s0", points: seconds.map { (x: Self.middle($0), y: $0.operationsPerSecond) }),
                ChartSeries(name: "errors and mismatches/s", cssClass: "bad", points: seconds.map { (x: Self.middle($0), y: $0.errorsPerSecond) }),
            ])
    }

    private func timeChart(
        _ run: RunRecord, title: String, cssClass: String, y: ChartScale, yTicks: [Double], yLabel: String, series: [ChartSeries]
    ) -> SVGChart {
        let length = max(1, run.summary.seconds, run.faults.map(\.atSeconds).max() ?? 0)
        let step = ChartScale.timeStep(for: length)
        let xTicks = stride(from: 0, through: length, by: step).map { (value: $0, label: "\(Int($0)) s") }
        return SVGChart(
            title: title, cssClass: cssClass, x: ChartScale(kind: .linear, lower: 0, upper: length), xTicks: xTicks,
            xLabel: "seconds since the measured run started", y: y, yTicks: yTicks.map { (value: $0, label: Self.number($0)) },
            yLabel: yLabel, series: series, markers: run.faults.map(Self.marker))
    }

    /// A fault as a dashed vertical line with e.g. "kill node-1"; a fault that failed says so.
    static func marker(_ fault: AppliedFault) -> ChartMarker {
        ChartMarker(
            x: fault.atSeconds, label: "\(fault.action) \(fault.node)\(fault.error == nil ? "" : " (failed)")",
            detail: "\(fault.planned) applied at \(String(format: "%.2f", fault.atSeconds)) s" + (fault.error.map { ": \($0)" } ?? ""),
            cssClass: "fault-marker",
            attributes: [("data-fault", fault.planned), ("data-at-seconds", String(format: "%.3f", fault.atSeconds))])
    }

    // MARK: tables

    private var summaryTable: String {
        let header = ["run", "workload", "file size", "concurrency", "seconds", "operations", "ops/s", "MB/s", "errors", "mismatches",
                      "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms", "failovers", "hedged"]
        let rows = document.runs.map { run -> [String] in
            let r = run.summary
            return [run.label, r.workload, Self.bytes(r.fileSizeBytes), "\(r.concurrency)", Self.number(r.seconds), "\(r.operations)",
                    Self.number(r.opsPerSecond), Self.number(r.megabytesPerSecond), "\(r.errors)", "\(r.mismatches)"]
                + ["p50", "p90", "p99", "p99.9", "max"].map { r.latency($0).map(Self.number) ?? "–" }
                + ["\(r.failovers)", "\(r.hedgedDownloads)"]
        }
        return table(id: "summary", header: header, rows: rows)
    }

    private func ratioTable(_ comparison: RoutingComparison) -> String {
        let figures = RoutingComparison.comparedFigures
        let header = ["routing"] + figures.map { $0 == "ops_per_second" ? "ops/s" : "\($0) ms" } + figures.map { "\($0 == "ops_per_second" ? "ops/s" : $0) vs latency" }
        let rows = comparison.rows.map { row -> [String] in
            let values = figures.map { name -> String in
                let value = name == "ops_per_second" ? row.report.opsPerSecond : row.report.latency(name)
                return value.map(Self.number) ?? "–"
            }
            return [row.label] + values + figures.map { row.ratioVsLatency[$0].map { String(format: "%.2f×", $0) } ?? "–" }
        }
        return "<h3>Ratios against latency routing (above 1: slower, or for ops/s more)</h3>\n" + table(id: "ratios", header: header, rows: rows)
    }

    private func faultTable(_ run: RunRecord) -> String {
        table(id: nil, cssClass: "faults", header: ["at", "fault", "result"], rows: run.faults.map { fault in
            [String(format: "%.2f s", fault.atSeconds), fault.planned, fault.error.map { "failed: \($0)" } ?? "applied"]
        })
    }

    private func table(id: String?, cssClass: String = "figures", header: [String], rows: [[String]]) -> String {
        let head = "<tr>" + header.map { "<th>\(escapeXML($0))</th>" }.joined() + "</tr>"
        let body = rows.map { "<tr>" + $0.map { "<td>\(escapeXML($0))</td>" }.joined() + "</tr>" }.joined(separator: "\n")
        return #"<div class="table-wrap"><table class="\#(cssClass)"\#(id.map { #" id="\#($0)""# } ?? "")><thead>\#(head)</thead><tbody>"#
            + "\n\(body)\n</tbody></table></div>"
    }

    // MARK: text

    private var metaLine: String {
        let load = document.loadAverage.map { " · load average " + $0.map { String(format: "%.2f", $0) }.joined(separator: " ") } ?? ""
        return "generated \(document.generatedAt) · \(document.processors) processors\(load)"
    }

    private func runTitle(_ run: RunRecord) -> String {
        let r = run.summary
        return "\(run.label): \(r.workload) of \(Self.bytes(r.fileSizeBytes)) files, concurrency \(r.concurrency), \(Self.number(r.seconds)) s, "
            + "\(r.operations) operations, \(r.errors) errors, \(r.mismatches) mismatches"
    }

    private static func middle(_ second: RunTimeline.Second) -> Double { Double(second.second) + second.durationSeconds / 2 }

    /// `99.9%` for three nines.
    private static func percentLabel(_ nines: Int) -> String {
        switch nines {
        case ...1: return "90%"
        case 2: return "99%"
        default: return "99." + String(repeating: "9", count: nines - 2) + "%"
        }
    }

    /// `65536` → `64 KiB`, as the tool's `--size` takes it.
    static func bytes(_ count: Int) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(count), unit = 0
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return "\(number(value)) \(units[unit])"
    }

    /// Up to three significant digits, no trailing zeros: axis ticks and table cells.
    static func number(_ value: Double) -> String {
        let magnitude = abs(value)
        let text = magnitude >= 100 ? String(format: "%.0f", value) : magnitude >= 10 ? String(format: "%.1f", value) : String(format: "%.2f", value)
        guard text.contains(".") else { return text }
        var trimmed = text
        while trimmed.hasSuffix("0") { trimmed.removeLast() }
        if trimmed.hasSuffix(".") { trimmed.removeLast() }
        return trimmed
    }

    static let style = """
        body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; color: #1c2430; margin: 24px auto;
          max-width: 1600px; padding: 0 16px; background: #f5f7fa; }
        h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 26px 0 8px; } h3 { font-size: 14px; margin: 14px 0 6px; }
        .meta { color: #5d6b7c; margin: 2px 0; overflow-wrap: anywhere; }
        section { background: #fff; border: 1px solid #dde3ea; border-radius: 10px; padding: 4px 16px 14px; margin-top: 16px; }
        .table-wrap { overflow-x: auto; }
        table { border-collapse: collapse; font-size: 13px; margin: 10px 0; font-variant-numeric: tabular-nums; }
        th, td { border-bottom: 1px solid #e6ebf1; padding: 4px 8px; text-align: right; white-space: nowrap; }
        th:first-child, td:first-child { text-align: left; }
        th { color: #5d6b7c; font-weight: 600; }
        .pair { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(520px, 100%), 1fr)); gap: 8px 24px; }
        figure.chart { margin: 8px 0; }
        figure.chart figcaption { font-weight: 600; margin-bottom: 2px; }
        figure.chart svg { width: 100%; height: auto; max-width: 1000px; display: block; }
        .plot { fill: #fbfcfe; stroke: #c9d2dc; }
        .grid { stroke: #e3e8ef; stroke-width: 1; }
        .tick { fill: #5d6b7c; font-size: 11px; }
        .axis-label { fill: #5d6b7c; font-size: 12px; }
        .line { fill: none; stroke-width: 2; stroke-linejoin: round; stroke-linecap: round; }
        .s0 { stroke: #1f6feb; color: #1f6feb; } .s1 { stroke: #d4380d; color: #d4380d; } .s2 { stroke: #8250df; color: #8250df; }
        .s3 { stroke: #1a7f37; color: #1a7f37; } .s4 { stroke: #bf8700; color: #bf8700; } .s5 { stroke: #57606a; color: #57606a; }
        .bad { stroke: #c62828; color: #c62828; stroke-dasharray: 4 3; }
        .fault-marker line { stroke: #c62828; stroke-width: 1.5; stroke-dasharray: 5 4; }
        .fault-marker text { fill: #c62828; font-size: 11px; font-weight: 600; }
        ul.legend { list-style: none; display: flex; gap: 16px; flex-wrap: wrap; padding: 0; margin: 4px 0 0 64px; font-size: 13px; }
        ul.legend li::before { content: ""; display: inline-block; width: 16px; height: 3px; margin-right: 6px; vertical-align: middle;
          background: currentColor; }
        table.faults td:nth-child(2) { text-align: left; }
        """
}
