import DFSCore
import Testing

@Suite("FileKey and NodeID validation")
struct FileKeyTests {
    @Test("accepts uuids, names with dots, dashes and underscores")
    func acceptsSafeKeys() throws {
        for raw in ["3f2a9c1e-0000-4000-8000-000000000001", "report.final_v2-b", "a", String(repeating: "k", count: 200)] {
            #expect(try FileKey(validating: raw).rawValue == raw)
        }
    }

    @Test(
        "refuses keys that could escape or confuse the blob directory",
        arguments: [
            "", "..", ".", "../etc/passwd", "a/b", "a\\b", "a..b", ".hidden", "spa ce", "ünï", "a%2Fb",
            String(repeating: "k", count: 201),
        ])
    func refusesUnsafeKeys(_ raw: String) {
        #expect(throws: KeyValidationError.self) { try FileKey(validating: raw) }
    }

    @Test("generated keys are valid and distinct")
    func generatedKeys() {
        let keys = Set((0..<100).map { _ in FileKey.generate() })
        #expect(keys.count == 100)
    }

    @Test("node ids follow the same rules")
    func nodeIDs() throws {
        #expect(try NodeID(validating: "node-1").rawValue == "node-1")
        #expect(throws: KeyValidationError.self) { try NodeID(validating: "node/1") }
    }
}

@Suite("Replication target header")
struct ReplicationTargetTests {
    @Test("round-trips targets and refuses malformed entries")
    func roundTrip() throws {
        let targets = [
            NodeEndpoint(id: try NodeID(validating: "node-2"), baseURL: "http://127.0.0.1:8002/"),
            NodeEndpoint(id: try NodeID(validating: "node-3"), baseURL: "http://127.0.0.1:8003"),
        ]
        let header = NodeProtocol.encodeTargets(targets)
        #expect(header == "node-2=http://127.0.0.1:8002,node-3=http://127.0.0.1:8003")
        #expect(try NodeProtocol.decodeTargets(header) == targets)
        #expect(throws: KeyValidationError.self) { try NodeProtocol.decodeTargets("node-2") }
        #expect(throws: KeyValidationError.self) { try NodeProtocol.decodeTargets("node-2=ftp://x") }
        #expect(throws: KeyValidationError.self) { try NodeProtocol.decodeTargets("../x=http://x") }
    }
}
