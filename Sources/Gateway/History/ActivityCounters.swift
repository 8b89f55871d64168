import DFSCore
import Synchronization

/// Running totals of client traffic and of the gateway's calls to each node since the process started. The
/// request path only adds (atomics, one short lock for the per-node table); the history sampler reads them once
/// a second and turns the differences into rates.
final class ActivityCounters: Sendable {
    private let uploads = Atomic<Int64>(0)
    private let downloads = Atomic<Int64>(0)
    private let serverErrors = Atomic<Int64>(0)
    private let receivedBytes = Atomic<Int64>(0)
    private let sentBytes = Atomic<Int64>(0)
    private let nodeCalls = Mutex<[NodeID: NodeCallTotals]>([:])

    /// Node operations that are client work or repairs; health probes are left out so that an idle cluster reads
    /// zero and a dead node's failing probes do not look like traffic.
    static let countedNodeOperations: Set<String> = ["put", "get", "delete", "inventory"]

    /// One answered client request. Uploads and downloads count when they succeeded; any 5xx counts as an error.
    /// - Parameter route: the matched route template (`/download/{key}`).
    func requestAnswered(route: String, method: String, status: Int) {
        let succeeded = (200..<300).contains(status)
        if succeeded && route == "/upload" && (method == "POST" || method == "PUT") {
            uploads.add(1, ordering: .relaxed)
        } else if succeeded && route == "/download/{key}" && method == "GET" {
            downloads.add(1, ordering: .relaxed)
        }
        if status >= 500 { serverErrors.add(1, ordering: .relaxed) }
    }

    /// Request body bytes as they are read, so a long upload spreads over the seconds it takes.
    func received(_ bytes: Int) { receivedBytes.add(Int64(bytes), ordering: .relaxed) }

    /// Response body bytes as they are written.
    func sent(_ bytes: Int) { sentBytes.add(Int64(bytes), ordering: .relaxed) }

    func nodeCallFinished(_ node: NodeID, operation: String, succeeded: Bool) {
        guard Self.countedNodeOperations.contains(operation) else { return }
        nodeCalls.withLock { calls in
            calls[node, default: NodeCallTotals()].requests += 1
            if !succeeded { calls[node, default: NodeCallTotals()].errors += 1 }
        }
    }

    var totals: ActivityTotals {
        ActivityTotals(
            uploads: uploads.load(ordering: .relaxed), downloads: downloads.load(ordering: .relaxed),
            serverErrors: serverErrors.load(ordering: .relaxed), receivedBytes: receivedBytes.load(ordering: .relaxed),
            sentBytes: sentBytes.load(ordering: .relaxed), nodeCalls: nodeCalls.withLock { $0 })
    }
}

/// `ActivityCounters` read at one moment.
struct ActivityTotals: Sendable, Equatable {
    var uploads: Int64 = 0
    var downloads: Int64 = 0
    var serverErrors: Int64 = 0
    var receivedBytes: Int64 = 0
    var sentBytes: Int64 = 0
    var nodeCalls: [NodeID: NodeCallTotals] = [:]
}

/// Calls the gateway made to one node, and how many of them failed.
struct NodeCallTotals: Sendable, Equatable {
    var requests: Int64 = 0
    var errors: Int64 = 0
}
