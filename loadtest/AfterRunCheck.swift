import AsyncHTTPClient
import DFSCore
import Foundation
import NIOCore

/// What was found once a run under faults was over: every node back, the repair queue given time to finish, then
/// every file the run stored read back and checked, and every file it deleted asked for again.
struct AfterRunCheck: Codable, Sendable, Equatable {
    /// Stored files read back whole with the right SHA-256.
    var verified = 0
    /// Stored files the gateway could not serve.
    var lost = 0
    /// Stored files served with other bytes.
    var wrong = 0
    /// Deleted files (DELETE answered 200) that can be downloaded again.
    var resurrected = 0
    /// Deleted files answered `404`, as they must be.
    var stayedDeleted = 0
    /// Files short of the replication factor, and repair items FAILED, when the check gave up waiting.
    var underReplicated: Int? = nil
    var failedRepairs: Int? = nil
    var settleSeconds = 0.0
    var samples: [String] = []

    var isClean: Bool { lost == 0 && wrong == 0 && resurrected == 0 }

    enum CodingKeys: String, CodingKey {
        case verified, lost, wrong, resurrected, samples
        case stayedDeleted = "stayed_deleted"
        case underReplicated = "under_replicated_files"
        case failedRepairs = "failed_repairs"
        case settleSeconds = "settle_seconds"
    }

    /// Waits up to `settleLimit` for every node UP and no file short of copies, then checks every file.
    static func run(
        gatewayURL: String, client: HTTPClient, stored: [StoredFile], deleted: [StoredFile], settleLimit: Duration,
        authorize: (inout HTTPClientRequest) -> Void
    ) async -> AfterRunCheck {
        var check = AfterRunCheck()
        let started = ContinuousClock.now
        var status: ReplicationStatus? = nil
        while ContinuousClock.now - started < settleLimit {
            status = try? await replicationStatus(gatewayURL: gatewayURL, client: client, authorize: authorize)
            if let status, status.nodes_up == status.nodes_total, status.under_replicated_files == 0 { break }
            try? await Task.sleep(for: .milliseconds(500))
        }
        let waited = ContinuousClock.now - started
        check.settleSeconds = waited.inSeconds.rounded()
        check.underReplicated = status?.under_replicated_files
        check.failedRepairs = status?.failed_items
        for file in stored {
            switch await read(file, gatewayURL: gatewayURL, client: client, authorize: authorize) {
            case .matches: check.verified += 1
            case .differs(let what):
                check.wrong += 1
                check.note("wrong bytes: \(file.key): \(what)")
            case .notServed(let status):
                check.lost += 1
                check.note("lost: \(file.key): HTTP \(status)")
            }
        }
        for file in deleted {
            switch await read(file, gatewayURL: gatewayURL, client: client, authorize: authorize) {
            case .notServed(404): check.stayedDeleted += 1
            case .notServed(let status):
                check.resurrected += 1
                check.note("deleted file answered HTTP \(status) instead of 404: \(file.key)")
            case .matches, .differs:
                check.resurrected += 1
                check.note("resurrected: \(file.key) was deleted and is served again")
            }
        }
        return check
    }

    private mutating func note(_ sample: String) {
        if samples.count < 5 { samples.append(sample) }
    }

    private enum ReadOutcome {
        case matches
        case differs(String)
        case notServed(Int)
    }

    private static func read(
        _ file: StoredFile, gatewayURL: String, client: HTTPClient, authorize: (inout HTTPClientRequest) -> Void
    ) async -> ReadOutcome {
        var request = HTTPClientRequest(url: gatewayURL + "/download/" + file.key)
        authorize(&request)
        do {
            let response = try await client.execute(request, timeout: .minutes(5))
            guard response.status == .ok else {
                _ = try? await response.body.collect(upTo: 1 << 20)
                return .notServed(Int(response.status.code))
            }
            var hasher = StreamingSHA256()
            for try await chunk in response.body { hasher.update(chunk) }
            guard hasher.byteCount == Int64(file.size), hasher.finalize() == file.digest else {
                return .differs("\(hasher.byteCount) bytes hashing to \(hasher.finalize().hex)")
            }
            return .matches
        } catch {
            return .notServed(0)
        }
    }

    private struct ReplicationStatus: Decodable {
        let under_replicated_files: Int
        let failed_items: Int
        let nodes_up: Int
        let nodes_total: Int
    }

    private static func replicationStatus(
        gatewayURL: String, client: HTTPClient, authorize: (inout HTTPClientRequest) -> Void
    ) async throws -> ReplicationStatus {
        var request = HTTPClientRequest(url: gatewayURL + "/status/replication")
        authorize(&request)
        let response = try await client.execute(request, timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 1 << 20)
        return try JSONDecoder().decode(ReplicationStatus.self, from: Data(body.readableBytesView))
    }

    var table: [String] {
        var lines = [
            "after run     \(verified) stored files read back intact, \(lost) lost, \(wrong) wrong; "
                + "\(stayedDeleted) deleted files stay deleted, \(resurrected) resurrected",
            "settled       after \(Int(settleSeconds)) s: \(underReplicated.map(String.init) ?? "?") files short of copies, "
                + "\(failedRepairs.map(String.init) ?? "?") repair items FAILED",
        ]
        lines += samples.map { "  after run: \($0)" }
        return lines
    }
}
