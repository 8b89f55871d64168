import DFSCore
@testable import DFSMetadata
import Foundation
import Synchronization
import Testing

/// The decorator behind `dfs_metadata_operation_duration_seconds`: forwards every call, reports each one once.
@Suite("InstrumentedMetadataStore")
struct InstrumentedMetadataStoreTests {
    @Test("each call is forwarded and reported with its operation name and outcome, failures included")
    func reportsEveryCall() async throws {
        let calls = Mutex<[(String, Bool)]>([])
        try await TestBackend.sqlite.withFreshStore { driver in
            let store = InstrumentedMetadataStore(driver) { operation, duration, succeeded in
                #expect(duration >= .zero)
                calls.withLock { $0.append((operation, succeeded)) }
            }
            try await store.registerNode(id: node("node-1"), address: "http://127.0.0.1:1", role: .main)
            try await store.recordUpload(sampleFile("f1"), verifiedOn: [node("node-1")], verifiedAt: Date(), queue: [])
            await #expect(throws: (any Error).self) {
                try await store.recordUpload(sampleFile("f1"), verifiedOn: [node("node-1")], verifiedAt: Date(), queue: [])
            }
            #expect(try await store.file(key("f1"))?.verifiedReplicas == [node("node-1")])
        }
        let recorded = calls.withLock { $0 }
        #expect(recorded.map(\.0) == ["registerNode", "recordUpload", "recordUpload", "file"])
        #expect(recorded.map(\.1) == [true, true, false, true])
    }
}
