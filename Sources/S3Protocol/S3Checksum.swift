import Crypto
import Foundation
import NIOCore

/// The checksum algorithms S3 clients send in `x-amz-checksum-*` headers and trailers.
public enum S3ChecksumAlgorithm: String, Sendable, CaseIterable {
    case crc32 = "CRC32"
    case crc32c = "CRC32C"
    case crc64nvme = "CRC64NVME"
    case sha1 = "SHA1"
    case sha256 = "SHA256"

    /// The lower-case header (or trailer) name carrying this checksum, such as `x-amz-checksum-crc32`.
    public var headerName: String { "x-amz-checksum-" + rawValue.lowercased() }

    /// The algorithm an `x-amz-checksum-*` header names, in any case; nil for any other header.
    public init?(headerName: String) {
        let name = headerName.lowercased()
        guard let algorithm = Self.allCases.first(where: { $0.headerName == name }) else { return nil }
        self = algorithm
    }
}

/// Computes one S3 checksum incrementally; `finalize()` gives the value S3 puts in `x-amz-checksum-*`.
public struct S3Checksummer: Sendable {
    private enum State {
        case crc32(UInt32)
        case crc32c(UInt32)
        case crc64nvme(UInt64)
        case sha1(Insecure.SHA1)
        case sha256(SHA256)
    }

    public let algorithm: S3ChecksumAlgorithm
    private var state: State

    public init(_ algorithm: S3ChecksumAlgorithm) {
        self.algorithm = algorithm
        switch algorithm {
        case .crc32: state = .crc32(0)
        case .crc32c: state = .crc32c(0)
        case .crc64nvme: state = .crc64nvme(0)
        case .sha1: state = .sha1(Insecure.SHA1())
        case .sha256: state = .sha256(SHA256())
        }
    }

    public mutating func update(_ bytes: ByteBuffer) {
        bytes.withUnsafeReadableBytes { update($0) }
    }

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        switch state {
        case .crc32(let crc): state = .crc32(CRC32Table.ieee.update(crc, bytes))
        case .crc32c(let crc): state = .crc32c(CRC32Table.castagnoli.update(crc, bytes))
        case .crc64nvme(let crc): state = .crc64nvme(CRC64Table.nvme.update(crc, bytes))
        case .sha1(var hasher):
            hasher.update(bufferPointer: bytes)
            state = .sha1(hasher)
        case .sha256(var hasher):
            hasher.update(bufferPointer: bytes)
            state = .sha256(hasher)
        }
    }

    /// Base64 of the big-endian digest bytes.
    public func finalize() -> String {
        Data(digestBytes()).base64EncodedString()
    }

    /// The raw digest, big-endian for the CRCs.
    public func digestBytes() -> [UInt8] {
        switch state {
        case .crc32(let crc), .crc32c(let crc): return bigEndianBytes(crc)
        case .crc64nvme(let crc): return bigEndianBytes(crc)
        case .sha1(let hasher): return Array(hasher.finalize())
        case .sha256(let hasher): return Array(hasher.finalize())
        }
    }
}

private func bigEndianBytes<Value: FixedWidthInteger>(_ value: Value) -> [UInt8] {
    withUnsafeBytes(of: value.bigEndian) { Array($0) }
}
