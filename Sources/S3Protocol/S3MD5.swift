import Crypto
import NIOCore

/// MD5 of an object or a part, for S3 ETags and `Content-MD5`.
public struct S3MD5: Sendable {
    private var hasher = Insecure.MD5()

    public init() {}

    public mutating func update(_ bytes: ByteBuffer) {
        bytes.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
    }

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        hasher.update(bufferPointer: bytes)
    }

    /// The 16 digest bytes.
    public func finalize() -> [UInt8] {
        Array(hasher.finalize())
    }

    /// Lower-case hex, as in a single-part ETag.
    public static func hex(_ bytes: [UInt8]) -> String {
        hexString(bytes)
    }

    /// The ETag S3 gives a multipart upload, quotes included: `"<md5 of the concatenated part MD5s>-<part count>"`.
    public static func multipartETag(partMD5s: [[UInt8]]) -> String {
        var hasher = Insecure.MD5()
        for partMD5 in partMD5s {
            hasher.update(data: partMD5)
        }
        return "\"" + hex(Array(hasher.finalize())) + "-\(partMD5s.count)\""
    }
}

/// Lower-case hex of some bytes.
func hexString(_ bytes: some Sequence<UInt8>) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var out = [UInt8]()
    out.reserveCapacity(bytes.underestimatedCount * 2)
    for byte in bytes {
        out.append(digits[Int(byte >> 4)])
        out.append(digits[Int(byte & 0x0F)])
    }
    return String(decoding: out, as: UTF8.self)
}
