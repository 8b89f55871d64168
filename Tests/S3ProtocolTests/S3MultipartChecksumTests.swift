import Foundation
import NIOCore
import Testing

@testable import S3Protocol

@Suite("Multipart checksums: composite and full-object")
struct S3MultipartChecksumTests {
    private func checksum(_ algorithm: S3ChecksumAlgorithm, _ bytes: [UInt8]) -> S3Checksummer {
        var checksummer = S3Checksummer(algorithm)
        bytes.withUnsafeBytes { checksummer.update($0) }
        return checksummer
    }

    private func randomBytes(_ count: Int, seed: UInt64) -> [UInt8] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return UInt8(truncatingIfNeeded: state >> 33)
        }
    }

    @Test(
        "a full-object CRC combined from the parts' CRCs is the CRC of the joined bytes",
        arguments: [S3ChecksumAlgorithm.crc32, .crc32c, .crc64nvme])
    func fullObjectCombination(algorithm: S3ChecksumAlgorithm) {
        for (seed, sizes) in [(1, [5, 7, 0, 1]), (2, [4096, 1, 65_537]), (3, [1]), (4, [100_000, 3_333, 77, 250_001])] {
            let parts = sizes.enumerated().map { randomBytes($0.element, seed: UInt64(seed * 100 + $0.offset)) }
            let whole = checksum(algorithm, parts.flatMap { $0 }).finalize()
            let combined = S3MultipartChecksum.value(
                algorithm, type: .fullObject,
                parts: parts.map { (checksum(algorithm, $0).finalize(), Int64($0.count)) })
            #expect(combined == whole, "sizes \(sizes)")
        }
    }

    @Test("a composite checksum is the checksum of the parts' raw checksums, with the part count")
    func composite() {
        let parts = [randomBytes(1000, seed: 9), randomBytes(10, seed: 10)]
        let partChecksums = parts.map { checksum(.sha256, $0) }
        let expected = checksum(.sha256, partChecksums.flatMap { $0.digestBytes() }).finalize() + "-2"
        #expect(
            S3MultipartChecksum.value(
                .sha256, type: .composite,
                parts: zip(partChecksums, parts).map {
                    ($0.finalize(), Int64($1.count))
                }) == expected)
        // The CRC-32 of the two raw CRCs 0xCBF43926 and 0x00000000, written out by hand.
        let crcOfParts = checksum(.crc32, [0xCB, 0xF4, 0x39, 0x26, 0, 0, 0, 0]).finalize()
        #expect(
            S3MultipartChecksum.value(.crc32, type: .composite, parts: [("y/Q5Jg==", 9), ("AAAAAA==", 0)])
                == crcOfParts + "-2")
    }

    @Test("the types S3 refuses give no value, and a value's type is read from its form")
    func refusals() {
        #expect(S3MultipartChecksum.value(.sha1, type: .fullObject, parts: [("AAAAAAAAAAAAAAAAAAAAAAAAAAA=", 1)]) == nil)
        #expect(S3MultipartChecksum.value(.crc64nvme, type: .composite, parts: [("AAAAAAAAAAA=", 1)]) == nil)
        #expect(S3MultipartChecksum.value(.crc32, type: .fullObject, parts: [("not base64!", 1)]) == nil)
        #expect(S3MultipartChecksum.value(.crc32, type: .fullObject, parts: [("AAAAAAAAAAA=", 1)]) == nil)
        #expect(S3ChecksumType.defaultType(for: .crc64nvme) == .fullObject)
        #expect(S3ChecksumType.defaultType(for: .crc32) == .composite)
        #expect(S3ChecksumType(ofValue: "y/Q5Jg==-3") == .composite)
        #expect(S3ChecksumType(ofValue: "y/Q5Jg==") == .fullObject)
    }
}
