import Foundation
import Testing

@testable import DFSCore
@testable import DFSMetadata
@testable import Gateway

/// The prototype's clients read every field of its answers; an empty one must be there as `null`, not missing.
@Suite("Response shapes keep every field")
struct ResponseShapeTests {
    func jsonObject(_ value: some Encodable) throws -> [String: Any] {
        let data = try JSONEncoder().encode(value)
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    @Test("a queue item without source, attempt, completion, retry time or error has each of them as null")
    func queueItemNulls() throws {
        let item = QueueItem(
            id: 7, fileKey: try FileKey(validating: "k1"), targetNodeID: try NodeID(validating: "node-2"), sourceNodeID: nil,
            kind: .delete, status: .pending, retryCount: 0, lastAttempt: nil, createdAt: Date(timeIntervalSince1970: 0),
            completedAt: nil, errorMessage: nil, nextAttemptAt: nil)
        let object = try jsonObject(QueueItemDTO(item))
        for field in ["source_node_id", "last_attempt", "completed_at", "next_attempt_at", "error_message"] {
            #expect(object[field] is NSNull, "\(field) should be null")
        }
        #expect(object["target_node_id"] as? String == "node-2")
    }

    @Test("a present optional is written as its value")
    func presentValue() throws {
        let item = QueueItem(
            id: 7, fileKey: try FileKey(validating: "k1"), targetNodeID: try NodeID(validating: "node-2"),
            sourceNodeID: try NodeID(validating: "node-1"), kind: .replicate, status: .failed, retryCount: 3,
            lastAttempt: Date(timeIntervalSince1970: 0), createdAt: Date(timeIntervalSince1970: 0), completedAt: nil,
            errorMessage: "boom", nextAttemptAt: nil)
        let object = try jsonObject(QueueItemDTO(item))
        #expect(object["source_node_id"] as? String == "node-1")
        #expect(object["error_message"] as? String == "boom")
        #expect(object["completed_at"] is NSNull)
    }

    @Test("a file list's last page says next_after: null")
    func lastPageCursor() throws {
        let object = try jsonObject(FileListResponse(files: [], count: 0, next_after: nil))
        #expect(object["next_after"] is NSNull)
    }
}
