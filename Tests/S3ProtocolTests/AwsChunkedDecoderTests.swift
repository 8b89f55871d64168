import Foundation
import NIOCore
import Testing

@testable import S3Protocol

@Suite("aws-chunked bodies")
struct AwsChunkedDecoderTests {
    /// The signing context of AWS's chunked upload examples: their key and date, and the given seed.
    private func exampleAuthentication(seed: String, trailer: Bool) -> S3Authentication {
        S3Authentication(
            credential: AWSExample.credential, payload: .streamingSigned(trailer: trailer),
            signingKey: SigV4Canonical.signingKey(
                secretAccessKey: AWSExample.credential.secretAccessKey, dateStamp: "20130524", region: "us-east-1"),
            amzDate: "20130524T000000Z", scope: "20130524/us-east-1/s3/aws4_request", seedSignature: seed)
    }

    private static let exampleSeed = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
    private static let trailerExampleSeed = "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e"

    /// AWS's 66,560 bytes of `a` in a 64 KiB chunk and a 1 KiB chunk, with the given chunk signatures.
    private static func exampleBody(signatures: [String], ending: String) -> [UInt8] {
        Array("10000;chunk-signature=\(signatures[0])\r\n".utf8) + Array(repeating: UInt8(ascii: "a"), count: 65536)
            + Array("\r\n400;chunk-signature=\(signatures[1])\r\n".utf8) + Array(repeating: UInt8(ascii: "a"), count: 1024)
            + Array("\r\n0;chunk-signature=\(signatures[2])\r\n".utf8) + Array(ending.utf8)
    }

    private static let signedExampleBody = exampleBody(
        signatures: [
            "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
            "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
            "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
        ], ending: "\r\n")

    private static let trailerSignatures = [
        "b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2",
        "1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7",
        "2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992",
    ]
    private static let trailerLines =
        "x-amz-checksum-crc32c:sOO8/Q==\r\n"
        + "x-amz-trailer-signature:d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435\r\n"

    /// Feeds `body` in pieces of `pieceSize` bytes and finishes.
    private func decode(
        _ body: [UInt8], pieceSize: Int? = nil, decoder: AwsChunkedDecoder
    ) throws -> (data: [UInt8], trailers: [String: String]) {
        var decoder = decoder
        var data: [UInt8] = []
        let size = pieceSize ?? max(body.count, 1)
        for start in stride(from: 0, to: body.count, by: size) {
            for slice in try decoder.feed(ByteBuffer(bytes: body[start..<min(start + size, body.count)])) {
                data += Array(slice.readableBytesView)
            }
        }
        return (data, try decoder.finish())
    }

    private func signedDecoder(
        seed: String = exampleSeed, trailer: Bool = false, length: Int64? = 66560, trailers: [String] = []
    ) -> AwsChunkedDecoder {
        AwsChunkedDecoder(
            mode: .streamingSigned(trailer: trailer), authentication: exampleAuthentication(seed: seed, trailer: trailer),
            declaredDecodedLength: length, announcedTrailers: trailers)
    }

    @Test("AWS's signed 64 KiB + 1 KiB example decodes, in any piece size, and the signer frames it identically")
    func awsSignedExample() throws {
        for pieceSize in [nil, 1000, 65_537, 7] {
            let decoded = try decode(Self.signedExampleBody, pieceSize: pieceSize, decoder: signedDecoder())
            #expect(decoded.data == Array(repeating: UInt8(ascii: "a"), count: 66560))
            #expect(decoded.trailers.isEmpty)
        }
        let framed = AWSExample.signer.signedChunkedBody(
            chunks: [Array(repeating: UInt8(ascii: "a"), count: 65536), Array(repeating: UInt8(ascii: "a"), count: 1024)],
            seedSignature: Self.exampleSeed, date: AWSExample.date)
        #expect(framed == Self.signedExampleBody)
    }

    @Test("AWS's signed example with a CRC32C trailer decodes, and the signer frames it identically")
    func awsTrailerExample() throws {
        let body = Self.exampleBody(signatures: Self.trailerSignatures, ending: Self.trailerLines + "\r\n")
        let decoded = try decode(
            body, pieceSize: 4000,
            decoder: signedDecoder(seed: Self.trailerExampleSeed, trailer: true, trailers: ["x-amz-checksum-crc32c"]))
        #expect(decoded.data.count == 66560)
        #expect(decoded.trailers == ["x-amz-checksum-crc32c": "sOO8/Q=="])

        let framed = AWSExample.signer.signedChunkedBody(
            chunks: [Array(repeating: UInt8(ascii: "a"), count: 65536), Array(repeating: UInt8(ascii: "a"), count: 1024)],
            seedSignature: Self.trailerExampleSeed, date: AWSExample.date,
            trailers: [("x-amz-checksum-crc32c", "sOO8/Q==")])
        #expect(framed == body)
    }

    @Test("trailers after an extra empty line, or without the closing empty line, are still read")
    func lenientTrailerFraming() throws {
        for ending in ["\r\n" + Self.trailerLines + "\r\n", Self.trailerLines, "\r\n" + Self.trailerLines] {
            let body = Self.exampleBody(signatures: Self.trailerSignatures, ending: ending)
            let decoded = try decode(
                body,
                decoder: signedDecoder(seed: Self.trailerExampleSeed, trailer: true, trailers: ["x-amz-checksum-crc32c"]))
            #expect(decoded.trailers == ["x-amz-checksum-crc32c": "sOO8/Q=="])
        }
    }

    @Test("an unsigned body with a CRC32 trailer streams out its data and hands back the trailer")
    func unsignedWithCRC32Trailer() throws {
        let data = Array("The quick brown fox jumps over the lazy dog".utf8)
        var crc = S3Checksummer(.crc32)
        data.withUnsafeBytes { crc.update($0) }
        let body = SigV4Signer.unsignedChunkedBody(
            chunks: [Array(data[..<20]), Array(data[20...])], trailers: [("x-amz-checksum-crc32", crc.finalize())])
        #expect(String(decoding: body.prefix(4), as: UTF8.self) == "14\r\n")
        #expect(String(decoding: body.suffix(36), as: UTF8.self) == "0\r\nx-amz-checksum-crc32:QU+jOQ==\r\n\r\n")
        let decoder = AwsChunkedDecoder(
            mode: .streamingUnsigned(trailer: true), authentication: nil, declaredDecodedLength: Int64(data.count),
            announcedTrailers: ["X-Amz-Checksum-CRC32"])
        let decoded = try decode(body, decoder: decoder)
        #expect(decoded.data == data)
        #expect(decoded.trailers == ["x-amz-checksum-crc32": crc.finalize()])
    }

    @Test("unsigned chunks come out as they arrive, without waiting for the chunk's end")
    func unsignedStreams() throws {
        var decoder = AwsChunkedDecoder(
            mode: .streamingUnsigned(trailer: true), authentication: nil, declaredDecodedLength: nil,
            announcedTrailers: [])
        let slices = try decoder.feed(ByteBuffer(string: "400\r\nhello"))
        #expect(slices.map { String(buffer: $0) } == ["hello"])
    }

    @Test("a body split at every byte position decodes the same, signed and unsigned")
    func everySplit() throws {
        let data = Array("hello, aws-chunked world".utf8)
        let chunks = [Array(data[..<7]), Array(data[7..<8]), Array(data[8...])]
        let request = S3SignedRequest.signed(
            method: "PUT", rawPath: "/bucket/key", payloadHash: "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER")
        let authentication = try AWSExample.verifier().authenticate(request)
        let signedBody = AWSExample.signer.signedChunkedBody(
            chunks: chunks, seedSignature: try #require(authentication.chunkSigning).seedSignature, date: AWSExample.date,
            trailers: [("x-amz-checksum-crc64nvme", "AAAAAAAAAAA=")])
        let unsignedBody = SigV4Signer.unsignedChunkedBody(chunks: chunks, trailers: [("x-amz-checksum-sha1", "x")])
        let cases: [([UInt8], () -> AwsChunkedDecoder)] = [
            (
                signedBody,
                {
                    AwsChunkedDecoder(
                        mode: authentication.payload, authentication: authentication,
                        declaredDecodedLength: Int64(data.count), announcedTrailers: ["x-amz-checksum-crc64nvme"])
                }
            ),
            (
                unsignedBody,
                {
                    AwsChunkedDecoder(
                        mode: .streamingUnsigned(trailer: true), authentication: nil,
                        declaredDecodedLength: Int64(data.count), announcedTrailers: ["x-amz-checksum-sha1"])
                }
            ),
        ]
        for (body, makeDecoder) in cases {
            for split in 0...body.count {
                var decoder = makeDecoder()
                var decoded: [UInt8] = []
                for part in [body[..<split], body[split...]] {
                    for slice in try decoder.feed(ByteBuffer(bytes: part)) { decoded += Array(slice.readableBytesView) }
                }
                #expect(decoded == data, "split at \(split)")
                #expect(try decoder.finish().count == 1, "split at \(split)")
            }
        }
    }

    @Test("a tampered chunk: SignatureDoesNotMatch, and none of that chunk's bytes came out first")
    func tamperedChunk() throws {
        var body = Self.signedExampleBody
        body[5000] = UInt8(ascii: "b")
        var decoder = signedDecoder()
        let firstPart = try decoder.feed(ByteBuffer(bytes: body[..<60000]))
        #expect(firstPart.isEmpty)
        let error = authError { try decoder.feed(ByteBuffer(bytes: body[60000...])) }
        #expect(error?.code == "SignatureDoesNotMatch")

        let wrongSeed = signedDecoder(seed: String(repeating: "0", count: 64))
        #expect(authError { try decode(Self.signedExampleBody, decoder: wrongSeed) }?.code == "SignatureDoesNotMatch")
    }

    @Test("reordered or missing chunk signatures are refused")
    func chunkSignatureChain() {
        let secondFirst = Self.exampleBody(
            signatures: [
                "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
                "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
                "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
            ], ending: "\r\n")
        #expect(authError { try decode(secondFirst, decoder: signedDecoder()) }?.code == "SignatureDoesNotMatch")
        let unsignedFraming = SigV4Signer.unsignedChunkedBody(chunks: [[1, 2, 3]], trailers: [])
        #expect(
            authError { try decode(unsignedFraming, decoder: signedDecoder(length: 3)) }?.code == "SignatureDoesNotMatch")
    }

    @Test("a wrong or missing trailer signature is refused")
    func trailerSignature() {
        let wrong = Self.exampleBody(
            signatures: Self.trailerSignatures,
            ending: Self.trailerLines.replacingOccurrences(of: "sOO8/Q==", with: "AAAAAA==") + "\r\n")
        let missing = Self.exampleBody(
            signatures: Self.trailerSignatures, ending: "x-amz-checksum-crc32c:sOO8/Q==\r\n\r\n")
        for body in [wrong, missing] {
            let decoder = signedDecoder(seed: Self.trailerExampleSeed, trailer: true, trailers: ["x-amz-checksum-crc32c"])
            #expect(authError { try decode(body, decoder: decoder) }?.code == "SignatureDoesNotMatch")
        }
    }

    @Test("a body without its final zero-length chunk or trailer section: IncompleteBody")
    func missingEnd() {
        let withoutFinal = Array(Self.signedExampleBody.prefix(65536 + 1024 + 200))
        #expect(authError { try decode(withoutFinal, decoder: signedDecoder()) }?.code == "IncompleteBody")
        let withoutFinalLine = Array(Self.signedExampleBody.dropLast(2))
        #expect(authError { try decode(withoutFinalLine, decoder: signedDecoder()) }?.code == "IncompleteBody")

        let unsigned = Array("3\r\nabc\r\n0\r\n".utf8)
        let trailerDecoder = AwsChunkedDecoder(
            mode: .streamingUnsigned(trailer: true), authentication: nil, declaredDecodedLength: 3,
            announcedTrailers: ["x-amz-checksum-crc32"])
        #expect(authError { try decode(unsigned, decoder: trailerDecoder) }?.code == "IncompleteBody")
        let noTrailer = Array("3\r\nabc\r\n0\r\n\r\n".utf8)
        #expect(authError { try decode(noTrailer, decoder: trailerDecoder) }?.code == "IncompleteBody")
    }

    @Test("decoded length differing from x-amz-decoded-content-length: IncompleteBody, early when it is exceeded")
    func decodedLengthMismatch() throws {
        let tooShort = authError { try decode(Self.signedExampleBody, decoder: signedDecoder(length: 66561)) }
        #expect(tooShort?.code == "IncompleteBody")
        var decoder = signedDecoder(length: 100)
        let tooLong = authError { try decoder.feed(ByteBuffer(bytes: Self.signedExampleBody.prefix(1000))) }
        #expect(tooLong?.code == "IncompleteBody")
    }

    @Test("bad framing is refused: oversized headers and chunks, bad sizes, missing CR LF, data after the end")
    func badFraming() {
        let unsigned = {
            AwsChunkedDecoder(
                mode: .streamingUnsigned(trailer: false), authentication: nil, declaredDecodedLength: nil,
                announcedTrailers: [])
        }
        let bodies = [
            "1" + String(repeating: "0", count: 5000) + "\r\n",
            "1000001\r\n",
            "zz\r\nab\r\n0\r\n\r\n",
            "-2\r\nab\r\n0\r\n\r\n",
            "2\nab\r\n0\r\n\r\n",
            "2\r\nabc\r\n0\r\n\r\n",
            "2\r\nab\r\n0\r\n\r\nmore",
        ]
        for body in bodies {
            let error = authError { try decode(Array(body.utf8), decoder: unsigned()) }
            #expect(error?.code == "InvalidRequest", "\(body.prefix(20))")
        }
    }

    @Test("trailers must have been announced in x-amz-trailer, and announced ones must come")
    func announcedTrailers() {
        let body = SigV4Signer.unsignedChunkedBody(chunks: [[1]], trailers: [("x-amz-checksum-crc32c", "AAAAAA==")])
        let other = AwsChunkedDecoder(
            mode: .streamingUnsigned(trailer: true), authentication: nil, declaredDecodedLength: 1,
            announcedTrailers: ["x-amz-checksum-crc32"])
        #expect(authError { try decode(body, decoder: other) }?.code == "InvalidRequest")
        let both = AwsChunkedDecoder(
            mode: .streamingUnsigned(trailer: true), authentication: nil, declaredDecodedLength: 1,
            announcedTrailers: ["x-amz-checksum-crc32c", "x-amz-checksum-sha256"])
        #expect(authError { try decode(body, decoder: both) }?.code == "IncompleteBody")
    }
}
