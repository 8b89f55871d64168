import DFSServer
import DFSCore
import HTTPTypes
import Hummingbird
import Testing

@testable import StorageNode

@Suite("GET/HEAD answer planning")
struct BlobReadPlanTests {
    let metadata = BlobMetadata(sizeBytes: 1000, digest: sha256([1, 2, 3]), modifiedAt: 0)

    @Test("no Range serves the whole blob with its length and recorded digest")
    func whole() throws {
        let plan = try BlobReadPlan(metadata: metadata, rangeHeader: nil)
        #expect(plan.status == .ok)
        #expect(plan.offset == 0 && plan.length == 1000)
        #expect(plan.headers[.contentLength] == "1000")
        #expect(plan.headers[.dfsChecksum] == sha256([1, 2, 3]).hex)
    }

    @Test(
        "one satisfiable range answers 206 with Content-Range",
        arguments: [
            ("bytes=0-99", 0, 100, "bytes 0-99/1000"),
            ("bytes=900-", 900, 100, "bytes 900-999/1000"),
            ("bytes=-10", 990, 10, "bytes 990-999/1000"),
            ("bytes=990-5000", 990, 10, "bytes 990-999/1000"),
        ] as [(String, Int64, Int64, String)])
    func partial(_ header: String, _ offset: Int64, _ length: Int64, _ contentRange: String) throws {
        let plan = try BlobReadPlan(metadata: metadata, rangeHeader: header)
        #expect(plan.status == .partialContent)
        #expect(plan.offset == offset && plan.length == length)
        #expect(plan.headers[.contentRange] == contentRange)
        #expect(plan.headers[.contentLength] == String(length))
    }

    @Test("a range past the end is refused with 416 and bytes */size")
    func unsatisfiable() {
        #expect(
            throws: APIError(
                status: .rangeNotSatisfiable, code: "range_not_satisfiable",
                message: "The requested range lies outside the blob's 1000 bytes.",
                headers: [.contentRange: "bytes */1000"])
        ) {
            try BlobReadPlan(metadata: metadata, rangeHeader: "bytes=1000-")
        }
    }

    @Test("a blob without a recorded digest is served without x-checksum-sha256")
    func noDigest() throws {
        let plan = try BlobReadPlan(metadata: BlobMetadata(sizeBytes: 5, digest: nil, modifiedAt: 0), rangeHeader: nil)
        #expect(plan.headers[.dfsChecksum] == nil)
    }
}
