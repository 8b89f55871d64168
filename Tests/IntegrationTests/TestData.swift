import Crypto
import DFSCore
import Foundation
import NIOCore
import TestSupport

/// Random bytes, fast even in a debug build.
func randomBytes(_ count: Int) -> [UInt8] {
    var generator = SystemRandomNumberGenerator()
    var bytes = [UInt8](repeating: 0, count: count)
    bytes.withUnsafeMutableBytes { raw in
        let words = raw.bindMemory(to: UInt64.self)
        for index in words.indices { words[index] = generator.next() }
        for index in (words.count * 8)..<count { raw[index] = UInt8.random(in: 0...255, using: &generator) }
    }
    return bytes
}

func sha256Hex(_ bytes: [UInt8]) -> String {
    DFSCore.SHA256Digest(Crypto.SHA256.hash(data: bytes)).hex
}

/// The decoded upload answer (the prototype's fields plus the receipt).
struct UploadAnswer: Decodable {
    struct Replication: Decodable {
        let successful: [String]
        let failed: [String]
    }
    struct Replica: Decodable {
        let node_id: String
        let checksum_sha256: String?
        let verified: Bool
    }
    let success: Bool
    let file_id: String
    let original_filename: String
    let size_bytes: Int64
    let checksum_sha256: String
    let node_id: String
    let replication: Replication
    let routed_via: String
    let selected_node: String
    let node_latency_ms: Double?
    let replicas: [Replica]
}

struct QueueAnswer: Decodable {
    struct Item: Decodable {
        let id: Int64
        let file_key: String
        let target_node_id: String
        let source_node_id: String?
        let status: String
        let retry_count: Int
        let last_attempt: String?
        let created_at: String
        let error_message: String?
    }
    let items: [Item]
    let count: Int
}

struct ErrorAnswer: Decodable, Equatable {
    let error: String
    let message: String
}

struct FilesAnswer: Decodable {
    struct File: Decodable {
        let file_key: String
        let original_filename: String
        let size_bytes: Int64
        let checksum_sha256: String
        let uploaded_at: String
        let replicas: [String]
        let bucket: String?
        let object_key: String?
        let object_size_bytes: Int64?
        let object_sha256: String?
        let part_number: Int?
        let object_parts: Int?
    }
    let files: [File]
    let count: Int
    let next_after: String?
}

struct NodeHealthAnswer: Decodable {
    let node_id: String
    let blob_count: Int
}

/// A row of `GET /nodes`, the fields the placement and lifecycle tests read.
struct NodeListRow: Decodable {
    var id: String
    var status: String
    var state: String
    var zone: String
    var capacity_bytes: Int64?
    var used_bytes: Int64?
    var blob_count: Int?
}

/// The replica list of every live file, following the `/files` cursor to the end.
func replicaSetsOfEveryFile(_ gateway: HTTPTestClient) async throws -> [[String]] {
    var sets: [[String]] = []
    var after: String? = nil
    repeat {
        let page = try await gateway.getJSON("/files?limit=1000" + (after.map { "&after=\($0)" } ?? ""), as: FilesAnswer.self)
        sets += page.files.map(\.replicas)
        after = page.next_after
    } while after != nil
    return sets
}
