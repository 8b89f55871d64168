import DFSClient
import DFSCore
import NIOCore
import Testing

@testable import Gateway

@Suite("Upload body reading")
struct UploadBodyReaderTests {
    /// Splits `text` into chunks of `size` bytes, as a network read would.
    func chunks(_ text: String, size: Int) -> AnyByteStream {
        let bytes = Array(text.utf8)
        return AnyByteStream(
            chunks: stride(from: 0, to: bytes.count, by: size).map { ByteBuffer(bytes: bytes[$0..<min($0 + size, bytes.count)]) })
    }

    func readAll(_ reader: UploadBodyReader) async throws -> String {
        var out = ByteBuffer()
        while var chunk = try await reader.nextFileChunk() { out.writeBuffer(&chunk) }
        try await reader.drainRemainder()
        return String(buffer: out)
    }

    let multipart = [
        "--XyZ", "Content-Disposition: form-data; name=\"note\"", "", "ignored field",
        "--XyZ", "Content-Disposition: form-data; name=\"file\"; filename=\"quote\\\"d; name.txt\"", "Content-Type: text/plain",
        "",
        "hello multipart world",
        "--XyZ--", "",
    ].joined(separator: "\r\n")

    @Test("finds the file field among others, at any chunk size", arguments: [1, 3, 7, 64, 4096])
    func multipartFileField(chunkSize: Int) async throws {
        let reader = UploadBodyReader(
            body: chunks(multipart, size: chunkSize), format: .multipart(boundary: "XyZ"), maxSize: 1000, filename: nil)
        try await reader.prepare()
        #expect(reader.filename == "quote\"d; name.txt")
        #expect(try await readAll(reader) == "hello multipart world")
        #expect(reader.byteCount == 21)
        var expected = StreamingSHA256()
        expected.update(ByteBuffer(string: "hello multipart world"))
        #expect(reader.digest == expected.finalize())
    }

    @Test("a multipart body without a file field is refused before anything is sent")
    func missingFileField() async throws {
        let body = ["--b", "Content-Disposition: form-data; name=\"other\"", "", "x", "--b--", ""].joined(separator: "\r\n")
        let reader = UploadBodyReader(
            body: chunks(body, size: 5), format: .multipart(boundary: "b"), maxSize: 1000, filename: nil)
        await #expect(throws: UploadError.self) { try await reader.prepare() }
        #expect(!reader.hasDeliveredBytes)
    }

    @Test("raw bodies pass through; the size cap stops an over-size body")
    func rawAndCap() async throws {
        let reader = UploadBodyReader(
            body: chunks(String(repeating: "a", count: 100), size: 10), format: .raw, maxSize: 100, filename: "a.bin")
        #expect(try await readAll(reader).count == 100)
        let tooBig = UploadBodyReader(
            body: chunks(String(repeating: "a", count: 101), size: 10), format: .raw, maxSize: 100, filename: "a.bin")
        await #expect(throws: UploadError.self) { _ = try await readAll(tooBig) }
    }

    @Test("Content-Disposition parameters, quoted and bare")
    func dispositionParameters() {
        let parsed = ContentDisposition.parameters("form-data; name=file; filename=\"a;b.txt\"")
        #expect(parsed["name"] == "file")
        #expect(parsed["filename"] == "a;b.txt")
        #expect(ContentDisposition.parameters("multipart/form-data; boundary=----abc")["boundary"] == "----abc")
    }
}

@Suite("Node selection")
struct NodeSelectorTests {
    func score(_ id: String, latency: Double?, up: Bool = true, inFlight: Int = 0, failures: Int = 0) -> NodeScore {
        NodeScore(
            endpoint: NodeEndpoint(id: try! NodeID(validating: id), baseURL: "http://127.0.0.1:1"), role: .backup, isUp: up,
            ewmaLatencyMs: latency, inFlight: inFlight, consecutiveFailures: failures)
    }

    @Test("the fastest node leads; down nodes come last")
    func fastestFirst() {
        var generator = SystemRandomNumberGenerator()
        let ranked = NodeSelector().rank(
            [score("a", latency: 50), score("b", latency: 2), score("c", latency: 1, up: false)], using: &generator)
        #expect(ranked.map(\.id.rawValue) == ["b", "a", "c"])
    }

    @Test("among near-ties the less loaded node leads")
    func nearTieLoad() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<50 {
            let ranked = NodeSelector().rank(
                [score("a", latency: 1.0, inFlight: 1), score("b", latency: 1.1)], using: &generator)
            #expect(ranked[0].id.rawValue == "b")
        }
    }

    @Test("failures and in-flight load push a node back")
    func penalties() {
        var generator = SystemRandomNumberGenerator()
        #expect(
            NodeSelector().rank([score("a", latency: 1, failures: 3), score("b", latency: 5)], using: &generator).first?.id
                .rawValue == "b")
        #expect(
            NodeSelector().rank([score("a", latency: 1, inFlight: 9), score("b", latency: 5)], using: &generator).first?.id
                .rawValue == "b")
    }

    @Test("near-ties share the load")
    func nearTiesSpread() {
        var generator = SystemRandomNumberGenerator()
        var leaders: [String: Int] = [:]
        for _ in 0..<400 {
            let ranked = NodeSelector().rank(
                [score("a", latency: 1.0), score("b", latency: 1.1), score("c", latency: 40)], using: &generator)
            leaders[ranked[0].id.rawValue, default: 0] += 1
        }
        #expect(leaders["c"] == nil)
        #expect((leaders["a"] ?? 0) > 120)
        #expect((leaders["b"] ?? 0) > 120)
    }

    @Test("round-robin rotates through UP nodes; random keeps DOWN ones last")
    func comparisonPolicies() {
        var generator = SystemRandomNumberGenerator()
        let nodes = [score("a", latency: 50), score("b", latency: 1), score("c", latency: 1, up: false)]
        let roundRobin = NodeSelector(policy: .roundRobin)
        #expect(roundRobin.rank(nodes, turn: 0, using: &generator).map(\.id.rawValue) == ["a", "b", "c"])
        #expect(roundRobin.rank(nodes, turn: 1, using: &generator).map(\.id.rawValue) == ["b", "a", "c"])
        for _ in 0..<20 {
            #expect(NodeSelector(policy: .random).rank(nodes, turn: 0, using: &generator).last?.id.rawValue == "c")
        }
    }

    @Test("the latency average forgets old samples within the half-life")
    func decay() {
        let average = LatencyAverage(halfLife: .seconds(1))
        #expect(average.updated(previous: nil, sample: 10, elapsed: .zero) == 10)
        let afterOneHalfLife = average.updated(previous: 100, sample: 0, elapsed: .seconds(1))
        #expect(abs(afterOneHalfLife - 50) < 0.001)
        #expect(average.updated(previous: 100, sample: 0, elapsed: .seconds(20)) < 0.001)
    }
}
