import Crypto
import Foundation
import NIOCore

/// A SHA-256 digest, kept as 32 bytes and shown as lowercase hex (the prototype's `checksum_sha256`).
public struct SHA256Digest: Hashable, Sendable, CustomStringConvertible, Codable {
    public let bytes: [UInt8]

    public init?(hex: some StringProtocol) {
        // Straight off the UTF-8 view, either case: this runs for every digest header of every node request, and
        // lowercasing or copying the text first cost more than the rest of a small read.
        let utf8 = hex.utf8
        guard utf8.count == 64 else { return nil }
        var out = [UInt8](repeating: 0, count: 32)
        var index = 0
        var high: UInt8 = 0
        for character in utf8 {
            guard let value = hexValue(character) else { return nil }
            if index.isMultiple(of: 2) {
                high = value
            } else {
                out[index / 2] = high << 4 | value
            }
            index += 1
        }
        self.bytes = out
    }

    /// Parses the base64 form used by `Content-Digest: sha-256=:…:` (RFC 9530).
    public init?(base64: String) {
        guard let data = Data(base64Encoded: base64), data.count == 32 else { return nil }
        self.bytes = Array(data)
    }

    /// 32 bytes of a SHA-256 result (or another 256-bit value written the same way, such as an HMAC-SHA256).
    public init?(bytes: [UInt8]) {
        guard bytes.count == 32 else { return nil }
        self.bytes = bytes
    }

    public init(_ digest: Crypto.SHA256.Digest) {
        self.bytes = Array(digest)
    }

    public var hex: String {
        let table = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(64)
        for byte in bytes {
            out.append(table[Int(byte >> 4)])
            out.append(table[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    public var base64: String { Data(bytes).base64EncodedString() }
    public var description: String { hex }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let digest = SHA256Digest(hex: text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a SHA-256 hex digest"))
        }
        self = digest
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(hex)
    }
}

private func hexValue(_ c: UInt8) -> UInt8? {
    switch c {
    case 0x30...0x39: return c - 0x30
    case 0x61...0x66: return c - 0x61 + 10
    case 0x41...0x46: return c - 0x41 + 10
    default: return nil
    }
}

/// Incremental SHA-256 over `ByteBuffer` chunks, counting the bytes it saw.
public struct StreamingSHA256: Sendable {
    private var hasher = Crypto.SHA256()
    public private(set) var byteCount: Int64 = 0

    public init() {}

    public mutating func update(_ buffer: ByteBuffer) {
        buffer.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
        byteCount += Int64(buffer.readableBytes)
    }

    public func finalize() -> SHA256Digest { SHA256Digest(hasher.finalize()) }
}
