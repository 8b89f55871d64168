/// One satisfiable byte range of a blob, inclusive bounds, from an HTTP `Range` header (RFC 9110 §14).
public struct ByteRange: Equatable, Sendable {
    public let first: Int64
    public let last: Int64

    public init(first: Int64, last: Int64) {
        precondition(first >= 0 && last >= first, "invalid byte range")
        self.first = first
        self.last = last
    }

    public var length: Int64 { last - first + 1 }
    public var headerValue: String { "bytes=\(first)-\(last)" }
    public func contentRange(totalSize: Int64) -> String { "bytes \(first)-\(last)/\(totalSize)" }

    /// The outcome of reading a `Range` header against a blob of known size.
    public enum Parsed: Equatable, Sendable {
        /// No header, a multi-range or a syntax we ignore: serve the whole blob (RFC 9110 allows it).
        case whole
        case partial(ByteRange)
        /// Valid syntax that no byte satisfies: answer 416.
        case unsatisfiable
    }

    /// Parses `bytes=a-b`, `bytes=a-` and `bytes=-n`.
    public static func parse(_ header: String?, size: Int64) -> Parsed {
        guard let header else { return .whole }
        let trimmed = header.trimmingSpaces()
        guard trimmed.lowercased().hasPrefix("bytes=") else { return .whole }
        let spec = trimmed.dropFirst("bytes=".count)
        if spec.contains(",") { return .whole }
        let parts = spec.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else { return .whole }
        let startText = parts[0].trimmingSpaces()
        let endText = parts[1].trimmingSpaces()
        if startText.isEmpty {
            guard let suffix = Int64(endText), suffix > 0 else { return endText == "0" ? .unsatisfiable : .whole }
            if size == 0 { return .unsatisfiable }
            return .partial(ByteRange(first: max(0, size - suffix), last: size - 1))
        }
        guard let start = Int64(startText), start >= 0 else { return .whole }
        if start >= size { return .unsatisfiable }
        if endText.isEmpty { return .partial(ByteRange(first: start, last: size - 1)) }
        guard let end = Int64(endText), end >= start else { return .whole }
        return .partial(ByteRange(first: start, last: min(end, size - 1)))
    }
}

extension StringProtocol {
    func trimmingSpaces() -> String {
        var slice = Substring(self)
        while slice.first == " " || slice.first == "\t" { slice.removeFirst() }
        while slice.last == " " || slice.last == "\t" { slice.removeLast() }
        return String(slice)
    }
}
