import DFSCore
import DFSMetadata
import Foundation
import Logging
import Testing

/// The backends the conformance suite runs on. MySQL joins when its driver lands (issue 4).
enum TestBackend: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case sqlite

    static var all: [TestBackend] { allCases }
    var testDescription: String { rawValue }

    /// Runs `body` against a fresh, empty store of this backend and closes it afterwards.
    func withFreshStore(_ body: (any MetadataStore) async throws -> Void) async throws {
        switch self {
        case .sqlite:
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dfs-meta-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: directory) }
            let store = try await SQLiteMetadataStore.open(path: directory.appendingPathComponent("metadata.sqlite").path, logger: Logger(label: "test"))
            do {
                try await body(store)
            } catch {
                try? await store.close()
                throw error
            }
            try await store.close()
        }
    }
}

func key(_ raw: String) -> FileKey { try! FileKey(validating: raw) }
func node(_ raw: String) -> NodeID { try! NodeID(validating: raw) }
let sampleDigest = SHA256Digest(hex: String(repeating: "ab", count: 32))!

func sampleFile(_ raw: String, at seconds: Double = 1_800_000_000, name: String = "a.txt") -> FileRecord {
    FileRecord(key: key(raw), originalFilename: name, sizeBytes: 42, checksum: sampleDigest, uploadedAt: Date(timeIntervalSince1970: seconds))
}
