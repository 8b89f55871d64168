#if canImport(Glibc)
    import Glibc
#endif
import Foundation
import NIOCore

/// A streaming multipart/form-data parser (RFC 7578) that finds boundaries with `memmem`.
///
/// MultipartKit's byte-at-a-time state machine parsed a 64 MiB upload in minutes in a debug build; this one
/// searches each chunk for the delimiter at memory speed and hands body bytes on as zero-copy slices,
/// holding back only the few bytes that could be the start of a delimiter split across chunks.
struct MultipartStreamParser {
    enum Event: Equatable {
        case partHeaders([String: String])
        case body(ByteBuffer)
        case partEnd
    }

    enum ParseError: Error, Equatable {
        case headersTooLong
        case malformed(String)
        case truncated
    }

    private enum State {
        case preamble
        case afterDelimiter
        case headers
        case body
        case epilogue
    }

    private let delimiter: [UInt8]
    private var state = State.preamble
    private var pending = ByteBuffer()
    private static let headerLimit = 16 << 10

    init(boundary: String) {
        // A CRLF is virtually prepended to the stream so the first delimiter looks like every other one.
        self.delimiter = Array("\r\n--\(boundary)".utf8)
        self.pending = ByteBuffer(bytes: Array("\r\n".utf8))
    }

    var isFinished: Bool { state == .epilogue }

    /// Consumes a chunk and returns what it completed.
    mutating func feed(_ chunk: ByteBuffer) throws -> [Event] {
        if state == .epilogue { return [] }
        if pending.readableBytes == 0 {
            pending = chunk
        } else {
            var joined = ByteBuffer()
            joined.reserveCapacity(pending.readableBytes + chunk.readableBytes)
            joined.writeImmutableBuffer(pending)
            joined.writeImmutableBuffer(chunk)
            pending = joined
        }
        var events: [Event] = []
        while true {
            switch state {
            case .preamble:
                guard let index = find(delimiter) else {
                    // Keep only what could start a delimiter.
                    let keep = min(pending.readableBytes, delimiter.count - 1)
                    pending.moveReaderIndex(forwardBy: pending.readableBytes - keep)
                    return events
                }
                pending.moveReaderIndex(forwardBy: index + delimiter.count)
                state = .afterDelimiter
            case .afterDelimiter:
                guard pending.readableBytes >= 2 else { return events }
                let marker = pending.getBytes(at: pending.readerIndex, length: 2)!
                if marker == [0x2D, 0x2D] {  // "--": the closing delimiter
                    state = .epilogue
                    pending = ByteBuffer()
                    return events
                }
                // Transport padding (spaces/tabs) may follow the boundary before its CRLF.
                guard let lineEnd = find(Array("\r\n".utf8)) else {
                    if pending.readableBytes > 256 { throw ParseError.malformed("no line break after a boundary") }
                    return events
                }
                pending.moveReaderIndex(forwardBy: lineEnd + 2)
                state = .headers
            case .headers:
                guard let end = find(Array("\r\n\r\n".utf8)) else {
                    if pending.readableBytes > Self.headerLimit { throw ParseError.headersTooLong }
                    // A part with no headers at all: the blank line comes first.
                    if pending.readableBytes >= 2, pending.getBytes(at: pending.readerIndex, length: 2) == [13, 10] {
                        pending.moveReaderIndex(forwardBy: 2)
                        events.append(.partHeaders([:]))
                        state = .body
                        continue
                    }
                    return events
                }
                let text = pending.readString(length: end) ?? ""
                pending.moveReaderIndex(forwardBy: 4)
                events.append(.partHeaders(Self.parseHeaders(text)))
                state = .body
            case .body:
                if let index = find(delimiter) {
                    if index > 0 { events.append(.body(pending.readSlice(length: index)!)) }
                    pending.moveReaderIndex(forwardBy: delimiter.count)
                    events.append(.partEnd)
                    state = .afterDelimiter
                } else {
                    let safe = pending.readableBytes - (delimiter.count - 1)
                    if safe > 0 { events.append(.body(pending.readSlice(length: safe)!)) }
                    return events
                }
            case .epilogue:
                return events
            }
        }
    }

    /// At the end of the input: the closing delimiter must have been seen.
    func finish() throws {
        guard state == .epilogue else { throw ParseError.truncated }
    }

    private func find(_ needle: [UInt8]) -> Int? {
        pending.withUnsafeReadableBytes { haystack -> Int? in
            guard haystack.count >= needle.count, let base = haystack.baseAddress else { return nil }
            // memchr for the first byte, memcmp for the rest (Glibc's memmem is not exported to Swift).
            return needle.withUnsafeBytes { needleBytes -> Int? in
                var offset = 0
                let lastStart = haystack.count - needle.count
                while offset <= lastStart {
                    guard let hit = memchr(base + offset, Int32(needle[0]), lastStart - offset + 1) else { return nil }
                    let position = base.distance(to: UnsafeRawPointer(hit))
                    if memcmp(base + position, needleBytes.baseAddress!, needle.count) == 0 { return position }
                    offset = position + 1
                }
                return nil
            }
        }
    }

    private static func parseHeaders(_ text: String) -> [String: String] {
        var headers: [String: String] = [:]
        for line in text.split(separator: "\r\n", omittingEmptySubsequences: true) {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
            headers[name] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return headers
    }
}
