import Foundation
import S3Protocol

/// Builds one S3 XML answer as text: elements in the order written, every text escaped.
struct S3XMLWriter {
    static let namespace = "http://s3.amazonaws.com/doc/2006-03-01/"
    private var text: String
    private let root: String

    init(root: String, namespace: String? = S3XMLWriter.namespace) {
        self.root = root
        text = #"<?xml version="1.0" encoding="UTF-8"?>"# + "\n<\(root)"
        if let namespace { text += #" xmlns="\#(namespace)""# }
        text += ">"
    }

    mutating func element(_ name: String, _ value: String) {
        text += "<\(name)>\(Self.escape(value))</\(name)>"
    }

    mutating func element(_ name: String, _ value: Int64) { element(name, String(value)) }
    mutating func element(_ name: String, _ value: Int) { element(name, String(value)) }
    mutating func element(_ name: String, _ value: Bool) { element(name, value ? "true" : "false") }

    /// `<name>…</name>` around what `body` writes.
    /// `<ChecksumCRC32>…</ChecksumCRC32>` and the like for stored checksums (algorithm name -> base64), in a stable
    /// order; with `withType`, each followed by its `<ChecksumType>`.
    mutating func checksumElements(_ checksums: [String: String], withType: Bool = false) {
        for (algorithm, value) in checksums.sorted(by: { $0.key < $1.key }) {
            element("Checksum" + algorithm, value)
            if withType { element("ChecksumType", S3ChecksumType(ofValue: value).rawValue) }
        }
    }

    mutating func group(_ name: String, _ body: (inout S3XMLWriter) -> Void) {
        text += "<\(name)>"
        body(&self)
        text += "</\(name)>"
    }

    func finish() -> String { text + "</\(root)>" }

    static func escape(_ value: String) -> String {
        var escaped = ""
        escaped.reserveCapacity(value.utf8.count)
        for scalar in value.unicodeScalars {
            switch scalar {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&apos;"
            // Control characters are not allowed in XML 1.0 text; S3 writes them as character references too.
            case _ where scalar.value < 0x20 && scalar != "\n" && scalar != "\t":
                escaped += "&#\(scalar.value);"
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        return escaped
    }

    /// S3's timestamps in XML: `2026-12-03T10:27:37.172Z`.
    static func timestamp(_ date: Date) -> String {
        date.formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted))
            .replacingOccurrences(of: "+0000", with: "Z")
    }
}

/// A small XML reader for the request bodies S3 clients send (CompleteMultipartUpload, Delete,
/// CreateBucketConfiguration): elements, text and the five entities plus character references; no DTDs, no
/// namespaces beyond ignoring prefixes and `xmlns` attributes. Bodies are small and bounded by the caller.
struct S3XMLElement: Equatable {
    var name: String
    var text: String
    var children: [S3XMLElement]

    func child(_ name: String) -> S3XMLElement? { children.first { $0.name == name } }
    func children(_ name: String) -> [S3XMLElement] { children.filter { $0.name == name } }

    struct ParseError: Error, CustomStringConvertible {
        var description: String
    }

    static func parse(_ data: [UInt8]) throws -> S3XMLElement {
        var parser = Parser(bytes: data)
        return try parser.document()
    }

    private struct Parser {
        let bytes: [UInt8]
        var index = 0

        init(bytes: [UInt8]) { self.bytes = bytes }

        mutating func document() throws -> S3XMLElement {
            skipProlog()
            guard peek() == UInt8(ascii: "<") else { throw ParseError(description: "no root element") }
            let root = try element()
            skipMisc()
            guard index == bytes.count else { throw ParseError(description: "content after the root element") }
            return root
        }

        func peek(_ offset: Int = 0) -> UInt8? { index + offset < bytes.count ? bytes[index + offset] : nil }

        mutating func skipWhitespace() {
            while let byte = peek(), byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { index += 1 }
        }

        mutating func skip(past terminator: String) -> Bool {
            let target = Array(terminator.utf8)
            while index + target.count <= bytes.count {
                if Array(bytes[index..<index + target.count]) == target {
                    index += target.count
                    return true
                }
                index += 1
            }
            index = bytes.count
            return false
        }

        mutating func skipProlog() {
            if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { index = 3 }
            skipMisc()
        }

        /// Whitespace, comments and processing instructions.
        mutating func skipMisc() {
            while true {
                skipWhitespace()
                if peek() == UInt8(ascii: "<"), peek(1) == UInt8(ascii: "?") {
                    _ = skip(past: "?>")
                } else if peek() == UInt8(ascii: "<"), peek(1) == UInt8(ascii: "!"), peek(2) == UInt8(ascii: "-") {
                    _ = skip(past: "-->")
                } else {
                    return
                }
            }
        }

        mutating func name() throws -> String {
            let start = index
            while let byte = peek(), !(byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09),
                byte != UInt8(ascii: ">"), byte != UInt8(ascii: "/")
            {
                index += 1
            }
            guard index > start else { throw ParseError(description: "an element without a name") }
            let full = String(decoding: bytes[start..<index], as: UTF8.self)
            // Prefixes are ignored: clients send the S3 namespace either as the default or under a prefix.
            return full.split(separator: ":").last.map(String.init) ?? full
        }

        mutating func element() throws -> S3XMLElement {
            index += 1  // "<"
            let elementName = try name()
            // Attributes (xmlns and the like) carry nothing the S3 bodies need.
            while let byte = peek(), byte != UInt8(ascii: ">") {
                if byte == UInt8(ascii: "/"), peek(1) == UInt8(ascii: ">") {
                    index += 2
                    return S3XMLElement(name: elementName, text: "", children: [])
                }
                index += 1
            }
            guard peek() == UInt8(ascii: ">") else { throw ParseError(description: "<\(elementName)> is not closed") }
            index += 1
            var text: [UInt8] = []
            var children: [S3XMLElement] = []
            while true {
                guard let byte = peek() else { throw ParseError(description: "</\(elementName)> is missing") }
                if byte == UInt8(ascii: "<") {
                    if peek(1) == UInt8(ascii: "/") {
                        index += 2
                        let closing = try name()
                        skipWhitespace()
                        guard closing == elementName, peek() == UInt8(ascii: ">") else {
                            throw ParseError(description: "</\(closing)> closes <\(elementName)>")
                        }
                        index += 1
                        return S3XMLElement(
                            name: elementName, text: try Self.decodeEntities(text), children: children)
                    }
                    if peek(1) == UInt8(ascii: "!") && peek(2) == UInt8(ascii: "[") {
                        // CDATA: its text is taken literally.
                        let start = index + 9
                        guard skip(past: "]]>") else { throw ParseError(description: "unterminated CDATA") }
                        text += bytes[start..<(index - 3)]
                        continue
                    }
                    if peek(1) == UInt8(ascii: "!") || peek(1) == UInt8(ascii: "?") {
                        skipMisc()
                        continue
                    }
                    children.append(try element())
                } else {
                    text.append(byte)
                    index += 1
                }
            }
        }

        static func decodeEntities(_ bytes: [UInt8]) throws -> String {
            let raw = String(decoding: bytes, as: UTF8.self)
            guard raw.contains("&") else { return raw }
            var result = ""
            var rest = Substring(raw)
            while let amp = rest.firstIndex(of: "&") {
                result += rest[..<amp]
                guard let semicolon = rest[amp...].firstIndex(of: ";") else {
                    throw ParseError(description: "an unterminated entity")
                }
                let entity = rest[rest.index(after: amp)..<semicolon]
                switch entity {
                case "amp": result += "&"
                case "lt": result += "<"
                case "gt": result += ">"
                case "quot": result += "\""
                case "apos": result += "'"
                default:
                    let number: UInt32? =
                        entity.hasPrefix("#x")
                        ? UInt32(entity.dropFirst(2), radix: 16) : entity.hasPrefix("#") ? UInt32(entity.dropFirst()) : nil
                    guard let number, let scalar = Unicode.Scalar(number) else {
                        throw ParseError(description: "unknown entity &\(entity);")
                    }
                    result.unicodeScalars.append(scalar)
                }
                rest = rest[rest.index(after: semicolon)...]
            }
            return result + rest
        }
    }
}
