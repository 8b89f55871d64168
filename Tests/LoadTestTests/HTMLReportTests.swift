import Foundation
import Testing

#if canImport(FoundationXML)
    import FoundationXML
#endif

@testable import LoadTest

/// `--report`: one page that any XML parser accepts, with the faults marked and every run on the CDF.
@Suite("HTML report")
struct HTMLReportTests {
    private func record(label: String, slowdown: Double, faults: [AppliedFault]) -> RunRecord {
        let recorder = LatencyRecorder()
        recorder.start(at: .now)
        for index in 1...500 { recorder.recordSuccess(latency: .microseconds(Int64(Double(index) * 40 * slowdown)), bytes: 1024) }
        recorder.recordError("download x: HTTP 503 <no node>")
        let snapshot = recorder.snapshot
        let summary = LoadReport(
            target: .gateway, workload: "download", fileSize: 1024, concurrency: 2, elapsed: .seconds(6), snapshot: snapshot,
            faults: faults.map(\.summary), linkImpairments: [:])
        return RunRecord(
            label: label, summary: summary, timeline: snapshot.timeline.seconds(through: .seconds(6)),
            latencyPercentiles: PercentilePoint.distribution(of: snapshot.histogram), faults: faults)
    }

    private var faults: [AppliedFault] {
        [
            AppliedFault(atSeconds: 2.004, action: "kill", node: "node-1", planned: "kill:node-1@2.0 seconds"),
            AppliedFault(
                atSeconds: 4.01, action: "start", node: "node-1", planned: "start:node-1@4.0 seconds",
                error: "port <in use> & more"),
        ]
    }

    @Test("a failover run: well-formed XML, one marker per fault, the CDF, nothing fetched from elsewhere")
    func failoverReport() throws {
        let document = ReportDocument(
            runs: [record(label: "latency", slowdown: 1, faults: faults)], comparison: nil,
            command: ["dfs-loadtest", "--fault", "kill:node-1@2s"])
        let html = HTMLReport(document).html
        let elements = try parseXML(html)
        // Two charts, two faults each.
        #expect(elements.filter { $0.name == "g" && $0.classes.contains("fault-marker") }.count == 4)
        let markers = elements.filter { $0.attributes["data-fault"] != nil }
        #expect(
            Set(markers.compactMap { $0.attributes["data-fault"] }) == ["kill:node-1@2.0 seconds", "start:node-1@4.0 seconds"])
        #expect(markers.contains { $0.attributes["data-at-seconds"] == "2.004" })
        let cdf = try #require(elements.first { $0.name == "figure" && $0.classes.contains("cdf") })
        #expect(elements.filter { $0.name == "path" && $0.classes.contains("line") && $0.isInside(cdf) }.count == 1)
        #expect(elements.contains { $0.name == "figure" && $0.classes.contains("latency-over-time") })
        #expect(elements.contains { $0.name == "figure" && $0.classes.contains("throughput-over-time") })
        // Text from the run is escaped, never markup.
        #expect(html.contains("port &lt;in use&gt; &amp; more"))
        #expect(!html.contains("<script") && !html.contains("<link") && !html.contains(" src="))
        #expect(
            html.replacingOccurrences(of: "http://www.w3.org/2000/svg", with: "").range(
                of: "https?://", options: .regularExpression) == nil)
    }

    @Test("a routing comparison: every policy on the one CDF, and the ratio table")
    func comparisonReport() throws {
        let runs = [
            record(label: "latency", slowdown: 1, faults: []), record(label: "round-robin", slowdown: 8, faults: []),
            record(label: "random", slowdown: 6, faults: []),
        ]
        let comparison = RoutingComparison(baseline: nil, reports: runs.map { ($0.label, $0.summary) })
        let html = HTMLReport(ReportDocument(runs: runs, comparison: comparison)).html
        let elements = try parseXML(html)
        let cdf = try #require(elements.first { $0.name == "figure" && $0.classes.contains("cdf") })
        #expect(elements.filter { $0.name == "path" && $0.classes.contains("line") && $0.isInside(cdf) }.count == 3)
        #expect(elements.contains { $0.name == "table" && $0.attributes["id"] == "ratios" })
        #expect(html.contains("<td>round-robin</td>"))
        #expect(!elements.contains { $0.classes.contains("fault-marker") })
    }

    @Test("the JSON holds what a notebook plots, with null for seconds that had no operation")
    func jsonDocument() throws {
        let document = ReportDocument(
            runs: [record(label: "latency", slowdown: 1, faults: faults)], comparison: nil, command: ["dfs-loadtest"])
        let object = try #require(try JSONSerialization.jsonObject(with: document.json) as? [String: Any])
        #expect(object["comparison"] is NSNull)
        let run = try #require((object["runs"] as? [[String: Any]])?.first)
        let timeline = try #require(run["timeline"] as? [[String: Any]])
        #expect(timeline.count == 6)
        #expect(timeline.last?["p50_ms"] is NSNull)
        #expect((run["latency_percentiles"] as? [[String: Any]])?.isEmpty == false)
        #expect((run["faults"] as? [[String: Any]])?.first?["at_seconds"] as? Double == 2.004)
        #expect((run["faults"] as? [[String: Any]])?.first?["error"] is NSNull)
    }

    @Test("text is escaped for XML")
    func escaping() {
        #expect(escapeXML(#"<a href="x">'&'</a>"#) == "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;")
    }
}

/// An element as the parser met it, with its position so containment can be checked.
struct ParsedElement {
    let name: String
    let attributes: [String: String]
    let index: Int
    var end: Int = .max

    var classes: Set<String> { Set((attributes["class"] ?? "").split(separator: " ").map(String.init)) }

    func isInside(_ parent: ParsedElement) -> Bool { index > parent.index && index < parent.end }
}

/// Parses the page as XML (throws at the first error) and lists its elements in document order.
func parseXML(_ text: String) throws -> [ParsedElement] {
    final class Collector: NSObject, XMLParserDelegate {
        var elements: [ParsedElement] = []
        var open: [Int] = []
        var counter = 0
        func parser(
            _ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
            attributes: [String: String] = [:]
        ) {
            elements.append(ParsedElement(name: name, attributes: attributes, index: counter))
            open.append(elements.count - 1)
            counter += 1
        }
        func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
            if let index = open.popLast() { elements[index].end = counter }
            counter += 1
        }
    }
    let parser = XMLParser(data: Data(text.utf8))
    let collector = Collector()
    parser.delegate = collector
    guard parser.parse() else {
        throw XMLError(
            description:
                "line \(parser.lineNumber), column \(parser.columnNumber): \(parser.parserError.map { "\($0)" } ?? "unknown error")"
        )
    }
    return collector.elements
}

struct XMLError: Error, CustomStringConvertible {
    let description: String
}
