import DFSCore
import Testing

@Suite("Range header parsing")
struct ByteRangeTests {
    @Test("bounded, open-ended and suffix ranges")
    func forms() {
        #expect(ByteRange.parse("bytes=0-99", size: 1000) == .partial(ByteRange(first: 0, last: 99)))
        #expect(ByteRange.parse("bytes=900-", size: 1000) == .partial(ByteRange(first: 900, last: 999)))
        #expect(ByteRange.parse("bytes=-100", size: 1000) == .partial(ByteRange(first: 900, last: 999)))
        #expect(ByteRange.parse("bytes=-5000", size: 1000) == .partial(ByteRange(first: 0, last: 999)))
        #expect(ByteRange.parse("bytes=990-5000", size: 1000) == .partial(ByteRange(first: 990, last: 999)))
    }

    @Test("absent, multi-range and garbage serve the whole body")
    func whole() {
        #expect(ByteRange.parse(nil, size: 10) == .whole)
        #expect(ByteRange.parse("bytes=0-1,5-6", size: 10) == .whole)
        #expect(ByteRange.parse("items=0-1", size: 10) == .whole)
        #expect(ByteRange.parse("bytes=5-2", size: 10) == .whole)
    }

    @Test("ranges past the end are unsatisfiable")
    func unsatisfiable() {
        #expect(ByteRange.parse("bytes=1000-", size: 1000) == .unsatisfiable)
        #expect(ByteRange.parse("bytes=0-", size: 0) == .unsatisfiable)
        #expect(ByteRange.parse("bytes=-0", size: 10) == .unsatisfiable)
    }

    @Test("content-range text")
    func contentRange() {
        #expect(ByteRange(first: 5, last: 9).contentRange(totalSize: 10) == "bytes 5-9/10")
        #expect(ByteRange(first: 5, last: 9).length == 5)
    }
}

@Suite("SHA-256 digests")
struct SHA256DigestTests {
    @Test("hex and base64 forms agree; streaming equals one-shot")
    func forms() throws {
        var hasher = StreamingSHA256()
        hasher.update(.init(string: "hello "))
        hasher.update(.init(string: "world"))
        let digest = hasher.finalize()
        #expect(digest.hex == "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9")
        #expect(hasher.byteCount == 11)
        #expect(SHA256Digest(hex: digest.hex) == digest)
        #expect(SHA256Digest(hex: digest.hex.uppercased()) == digest)
        #expect(SHA256Digest(base64: digest.base64) == digest)
        #expect(SHA256Digest(hex: "zz") == nil)
        #expect(SHA256Digest(base64: "AAAA") == nil)
    }
}
