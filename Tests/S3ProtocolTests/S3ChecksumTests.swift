import Foundation
import NIOCore
import Testing

@testable import S3Protocol

@Suite("S3 checksums and ETags")
struct S3ChecksumTests {
    private func checksum(_ algorithm: S3ChecksumAlgorithm, _ text: String) -> S3Checksummer {
        var checksummer = S3Checksummer(algorithm)
        checksummer.update(ByteBuffer(string: text))
        return checksummer
    }

    private func bigEndianValue(_ bytes: [UInt8]) -> UInt64 {
        bytes.reduce(0) { $0 << 8 | UInt64($1) }
    }

    @Test("the CRCs give the standard check values for 123456789")
    func checkValues() {
        #expect(bigEndianValue(checksum(.crc32, "123456789").digestBytes()) == 0xCBF4_3926)
        #expect(bigEndianValue(checksum(.crc32c, "123456789").digestBytes()) == 0xE306_9283)
        #expect(bigEndianValue(checksum(.crc64nvme, "123456789").digestBytes()) == 0xAE8B_1486_0A79_9888)
    }

    @Test("finalize is the base64 of the big-endian digest, as in x-amz-checksum-*")
    func base64Values() {
        #expect(S3Checksummer(.crc32).finalize() == "AAAAAA==")
        #expect(checksum(.crc32, "123456789").finalize() == Data([0xCB, 0xF4, 0x39, 0x26]).base64EncodedString())
        #expect(checksum(.crc64nvme, "").finalize() == "AAAAAAAAAAA=")
        #expect(checksum(.sha256, "123456789").finalize() == "FeKw08M4keuw8e9gnsQZQgwg4yDOlMZfvIwzEkSOsiU=")
        #expect(checksum(.sha1, "123456789").finalize() == "98O8HYCOBHMq32eZZczDTKeuNEE=")
    }

    @Test("CRC32C of 65 KiB of 'a' is the value in AWS's trailer example")
    func crc32cOfTrailerExample() {
        #expect(checksum(.crc32c, String(repeating: "a", count: 65 * 1024)).finalize() == "sOO8/Q==")
    }

    @Test(
        "slice-by-8 agrees with the bitwise definition on every length and alignment",
        arguments: [
            S3ChecksumAlgorithm.crc32, .crc32c, .crc64nvme,
        ])
    func agreesWithBitwiseReference(_ algorithm: S3ChecksumAlgorithm) {
        var generator = SystemRandomNumberGenerator()
        let data = (0..<300).map { _ in UInt8.random(in: 0...255, using: &generator) }
        for start in 0..<9 {
            for end in stride(from: start, through: data.count, by: 7) {
                let slice = Array(data[start..<end])
                var checksummer = S3Checksummer(algorithm)
                slice.withUnsafeBytes { checksummer.update($0) }
                #expect(bigEndianValue(checksummer.digestBytes()) == bitwiseCRC(algorithm, slice))
            }
        }
    }

    @Test("updates in pieces give the one-shot value", arguments: S3ChecksumAlgorithm.allCases)
    func chunkedEqualsOneShot(_ algorithm: S3ChecksumAlgorithm) {
        let data = (0..<10_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        var oneShot = S3Checksummer(algorithm)
        oneShot.update(ByteBuffer(bytes: data))
        for pieceSize in [1, 3, 8, 13, 4096] {
            var pieces = S3Checksummer(algorithm)
            for start in stride(from: 0, to: data.count, by: pieceSize) {
                pieces.update(ByteBuffer(bytes: data[start..<min(start + pieceSize, data.count)]))
            }
            #expect(pieces.finalize() == oneShot.finalize())
        }
    }

    @Test("header names map to algorithms in any case, and only x-amz-checksum-* names do")
    func headerNames() {
        #expect(S3ChecksumAlgorithm.crc64nvme.headerName == "x-amz-checksum-crc64nvme")
        for algorithm in S3ChecksumAlgorithm.allCases {
            #expect(S3ChecksumAlgorithm(headerName: algorithm.headerName) == algorithm)
            #expect(S3ChecksumAlgorithm(headerName: algorithm.headerName.uppercased()) == algorithm)
        }
        #expect(S3ChecksumAlgorithm(headerName: "X-Amz-Checksum-CRC32C") == .crc32c)
        #expect(S3ChecksumAlgorithm(headerName: "x-amz-checksum-md5") == nil)
        #expect(S3ChecksumAlgorithm(headerName: "content-md5") == nil)
    }

    @Test("MD5 hex and the multipart ETag: md5 of the part MD5s, a dash and the part count, quoted")
    func md5AndMultipartETag() {
        func md5(_ text: String) -> [UInt8] {
            var md5 = S3MD5()
            md5.update(ByteBuffer(string: text))
            return md5.finalize()
        }
        #expect(S3MD5.hex(md5("part one")) == "3303e12af474ca11d85ed2966a932992")
        #expect(S3MD5.hex(md5("")) == "d41d8cd98f00b204e9800998ecf8427e")
        #expect(
            S3MD5.multipartETag(partMD5s: [md5("part one"), md5("part two")])
                == "\"0732917abc3288784e318ac0aab1757a-2\"")
    }
}

/// The CRCs one bit at a time, straight from their definitions, to check the table-driven code against.
private func bitwiseCRC(_ algorithm: S3ChecksumAlgorithm, _ bytes: [UInt8]) -> UInt64 {
    let (polynomial, width): (UInt64, UInt64) =
        switch algorithm {
        case .crc32: (0xEDB8_8320, 32)
        case .crc32c: (0x82F6_3B78, 32)
        default: (0x9A6C_9329_AC4B_C9B5, 64)
        }
    let mask: UInt64 = width == 64 ? .max : (1 << width) - 1
    var crc = mask
    for byte in bytes {
        crc ^= UInt64(byte)
        for _ in 0..<8 {
            crc = crc & 1 == 1 ? (crc >> 1) ^ polynomial : crc >> 1
        }
    }
    return crc ^ mask
}
