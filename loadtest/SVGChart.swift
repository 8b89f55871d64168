import Foundation

/// Where values fall along one axis of a chart, as a fraction 0...1 of its length.
struct ChartScale: Sendable, Equatable {
    enum Kind: Sendable, Equatable {
        case linear
        /// Base-10 logarithmic; `lower` must be above zero.
        case logarithmic
        /// Percentiles spread by their "nines" (log10 of 100 / (100 − p)), as HdrHistogram plots them: 90, 99 and
        /// 99.9 are equally far apart. `upper` is the number of nines at the axis' end; 100 % sits there too.
        case percentileNines
    }

    var kind: Kind
    var lower: Double
    var upper: Double

    func fraction(_ value: Double) -> Double {
        let position: Double
        switch kind {
        case .linear:
            position = upper > lower ? (value - lower) / (upper - lower) : 0
        case .logarithmic:
            let low = log10(lower), high = log10(upper)
            position = high > low ? (log10(max(value, lower)) - low) / (high - low) : 0
        case .percentileNines:
            position = upper > 0 ? Self.nines(value) / upper : 0
        }
        return min(1, max(0, position))
    }

    /// log10(100 / (100 − p)): 0 for 0 %, 1 for 90 %, 2 for 99 %; 100 % is infinitely far, so it is capped.
    static func nines(_ percentile: Double) -> Double {
        log10(100 / max(1e-9, 100 - min(max(percentile, 0), 100)))
    }

    /// A linear axis from zero with three to five ticks a round step apart, the last at or above `maximum`.
    static func linearFromZero(to maximum: Double) -> (scale: ChartScale, ticks: [Double]) {
        let step = roundedUp(max(maximum, 1e-9) / 4)
        let steps = max(1, Int((max(maximum, 1e-9) / step - 1e-9).rounded(.up)))
        let top = step * Double(steps)
        return (ChartScale(kind: .linear, lower: 0, upper: top), (0...steps).map { step * Double($0) })
    }

    /// A logarithmic axis covering `range` in whole decades, with ticks at 1, 2 and 5 of each decade (1 only when
    /// it spans more than three).
    static func logarithmic(covering range: ClosedRange<Double>) -> (scale: ChartScale, ticks: [Double]) {
        let low = pow(10, floor(log10(max(range.lowerBound, 1e-6))))
        var high = pow(10, ceil(log10(max(range.upperBound, low * 10))))
        if high <= low { high = low * 10 }
        let decades = Int(log10(high / low).rounded())
        let multiples: [Double] = decades > 3 ? [1] : [1, 2, 5]
        var ticks: [Double] = []
        var decade = low
        while decade <= high * 1.0001 {
            for multiple in multiples where decade * multiple <= high * 1.0001 { ticks.append(decade * multiple) }
            decade *= 10
        }
        return (ChartScale(kind: .logarithmic, lower: low, upper: high), ticks)
    }

    /// The smallest of 1, 2, 2.5, 5 × 10^k at or above `value`.
    static func roundedUp(_ value: Double) -> Double {
        guard value > 0, value.isFinite else { return 1 }
        let power = pow(10, floor(log10(value)))
        for step in [1, 2, 2.5, 5, 10] where value <= step * power * (1 + 1e-9) { return step * power }
        return 10 * power
    }

    /// Tick spacing for a time axis of `seconds`: a round step giving at most about eight ticks.
    static func timeStep(for seconds: Double) -> Double {
        for step in [1.0, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600] where seconds / step <= 8 { return step }
        return 7200
    }
}

/// One line of a chart; nil values break it.
struct ChartSeries: Sendable {
    var name: String
    /// `s0`, `s1`, …: the report's stylesheet colours them.
    var cssClass: String
    var points: [(x: Double, y: Double?)]
}

/// A vertical line at `x` with a short label, e.g. a fault.
struct ChartMarker: Sendable {
    var x: Double
    var label: String
    /// Shown on hover (an SVG `<title>`).
    var detail: String
    var cssClass: String
    /// Extra attributes for tests and scripts, e.g. `data-fault`.
    var attributes: [(String, String)] = []
}

/// A line chart as inline SVG (with an HTML caption and legend): axes, ticks, lines and vertical markers. Output
/// is well-formed XML, so the page it sits in can be checked by any XML parser.
struct SVGChart: Sendable {
    var title: String
    var cssClass: String
    var x: ChartScale
    var xTicks: [(value: Double, label: String)]
    var xLabel: String
    var y: ChartScale
    var yTicks: [(value: Double, label: String)]
    var yLabel: String
    var series: [ChartSeries]
    var markers: [ChartMarker] = []
    var width = 760
    var height = 300

    /// Room around the plot for tick labels, axis titles and the fault labels above it.
    private static let left = 64.0, right = 30.0, top = 28.0, bottom = 44.0

    var svg: String {
        let (left, right, top, bottom) = (Self.left, Self.right, Self.top, Self.bottom)
        let plotWidth = Double(width) - left - right, plotHeight = Double(height) - top - bottom
        func px(_ value: Double) -> Double { left + x.fraction(value) * plotWidth }
        func py(_ value: Double) -> Double { top + (1 - y.fraction(value)) * plotHeight }
        var parts: [String] = []
        parts.append(#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 \#(width) \#(height)" width="\#(width)" height="\#(height)" role="img" aria-label="\#(escapeXML(title))">"#)
        parts.append(#"<rect class="plot" x="\#(f(left))" y="\#(f(top))" width="\#(f(plotWidth))" height="\#(f(plotHeight))"/>"#)
        for tick in yTicks {
            let level = py(tick.value)
            parts.append(#"<line class="grid" x1="\#(f(left))" x2="\#(f(left + plotWidth))" y1="\#(f(level))" y2="\#(f(level))"/>"#)
            parts.append(#"<text class="tick" x="\#(f(left - 6))" y="\#(f(level + 4))" text-anchor="end">\#(escapeXML(tick.label))</text>"#)
        }
        for tick in xTicks {
            let position = px(tick.value)
            parts.append(#"<line class="grid" x1="\#(f(position))" x2="\#(f(position))" y1="\#(f(top))" y2="\#(f(top + plotHeight))"/>"#)
            parts.append(#"<text class="tick" x="\#(f(position))" y="\#(f(top + plotHeight + 16))" text-anchor="middle">\#(escapeXML(tick.label))</text>"#)
        }
        parts.append(#"<text class="axis-label" x="\#(f(left + plotWidth / 2))" y="\#(f(Double(height) - 6))" text-anchor="middle">\#(escapeXML(xLabel))</text>"#)
        parts.append(#"<text class="axis-label" x="14" y="\#(f(top + plotHeight / 2))" text-anchor="middle" transform="rotate(-90 14 \#(f(top + plotHeight / 2)))">\#(escapeXML(yLabel))</text>"#)
        for line in series {
            var path = ""
            var drawing = false
            for point in line.points {
                guard let value = point.y, value.isFinite else {
                    drawing = false
                    continue
                }
                path += "\(drawing ? "L" : "M")\(f(px(point.x))),\(f(py(value)))"
                drawing = true
            }
            guard !path.isEmpty else { continue }
            parts.append(#"<path class="line \#(line.cssClass)" d="\#(path)"><title>\#(escapeXML(line.name))</title></path>"#)
        }
        for (index, marker) in markers.enumerated() {
            let position = px(marker.x)
            // Staggered labels, so faults close together stay readable.
            let labelY = top + 12 + Double(index % 3) * 13
            let extra = marker.attributes.map { #" \#($0.0)="\#(escapeXML($0.1))""# }.joined()
            parts.append(#"<g class="\#(marker.cssClass)"\#(extra)>"#
                + #"<line x1="\#(f(position))" x2="\#(f(position))" y1="\#(f(top - 6))" y2="\#(f(top + plotHeight))"/>"#
                + #"<text x="\#(f(position + 3))" y="\#(f(labelY))">\#(escapeXML(marker.label))</text>"#
                + "<title>\(escapeXML(marker.detail))</title></g>")
        }
        parts.append("</svg>")
        return parts.joined(separator: "\n")
    }

    /// The chart with its caption and, for several lines, a legend.
    var html: String {
        let legend = series.count > 1
            ? #"<ul class="legend">"# + series.map { #"<li class="\#($0.cssClass)">\#(escapeXML($0.name))</li>"# }.joined() + "</ul>"
            : ""
        return #"<figure class="chart \#(cssClass)"><figcaption>\#(escapeXML(title))</figcaption>"# + "\n" + svg + "\n" + legend + "</figure>"
    }

    private func f(_ value: Double) -> String { String(format: "%.1f", value) }
}

/// Text for HTML or SVG: the five characters XML reserves, escaped.
func escapeXML(_ text: String) -> String {
    var escaped = ""
    escaped.reserveCapacity(text.count)
    for character in text {
        switch character {
        case "&": escaped += "&amp;"
        case "<": escaped += "&lt;"
        case ">": escaped += "&gt;"
        case "\"": escaped += "&quot;"
        case "'": escaped += "&#39;"
        default: escaped.append(character)
        }
    }
    return escaped
}
