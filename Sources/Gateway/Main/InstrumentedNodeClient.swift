import DFSClient
import DFSCore

/// Times every call the gateway makes to a storage node and counts the failures (`GatewayMetrics`), so no call
/// site carries a timer. Transfers are timed until the node's answer head: their bodies stream on afterwards.
struct InstrumentedNodeClient: NodeClient {
    let base: any NodeClient
    let metrics: GatewayMetrics

    func health(of node: NodeEndpoint, timeout: Duration) async throws -> NodeHealth {
        try await measure(node, "health") { try await base.health(of: node, timeout: timeout) }
    }

    func putBlob(
        _ key: FileKey, on node: NodeEndpoint, body: AnyByteStream, length: Int64?, replicateTo targets: [NodeEndpoint],
        expectedDigest: SHA256Digest?, expectedBlockRoot: SHA256Digest?
    ) async throws -> BlobPutResult {
        try await measure(node, "put") {
            try await base.putBlob(
                key, on: node, body: body, length: length, replicateTo: targets, expectedDigest: expectedDigest,
                expectedBlockRoot: expectedBlockRoot)
        }
    }

    func getBlob(
        _ key: FileKey, from node: NodeEndpoint, range: ByteRange?, expecting expectation: BlobExpectation?
    ) async throws -> BlobReadStream {
        try await measure(node, "get") { try await base.getBlob(key, from: node, range: range, expecting: expectation) }
    }

    func damagedBlocks(of key: FileKey, on node: NodeEndpoint, timeout: Duration) async throws -> [Int] {
        try await measure(node, "head") { try await base.damagedBlocks(of: key, on: node, timeout: timeout) }
    }

    func verifyBlob(
        _ key: FileKey, on node: NodeEndpoint, expecting expectation: BlobExpectation?
    ) async throws -> BlobVerification {
        try await measure(node, "verify") { try await base.verifyBlob(key, on: node, expecting: expectation) }
    }

    func deleteBlob(_ key: FileKey, on node: NodeEndpoint) async throws -> Bool {
        try await measure(node, "delete") { try await base.deleteBlob(key, on: node) }
    }

    func retireBlob(_ key: FileKey, on node: NodeEndpoint) async throws -> Bool {
        try await measure(node, "delete") { try await base.retireBlob(key, on: node) }
    }

    func inventory(of node: NodeEndpoint, after: String?, limit: Int) async throws -> InventoryPage {
        try await measure(node, "inventory") { try await base.inventory(of: node, after: after, limit: limit) }
    }

    private func measure<T>(_ node: NodeEndpoint, _ operation: String, _ call: () async throws -> T) async throws -> T {
        let started = ContinuousClock.now
        do {
            let result = try await call()
            metrics.recordNodeCall(node: node.id, operation: operation, duration: ContinuousClock.now - started, succeeded: true)
            return result
        } catch {
            metrics.recordNodeCall(node: node.id, operation: operation, duration: ContinuousClock.now - started, succeeded: false)
            throw error
        }
    }
}
