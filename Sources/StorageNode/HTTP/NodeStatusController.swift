import DFSCore
import DFSServer
import Hummingbird

/// `GET /health` and `GET /inventory`.
struct NodeStatusController: Sendable {
    static let defaultInventoryLimit = 1000
    static let maximumInventoryLimit = 10_000

    let nodeID: NodeID
    let zone: String
    let store: BlobStore

    func register(on router: Router<BasicRequestContext>) {
        router.get("/health", use: health)
        router.get("/inventory", use: inventory)
    }

    @Sendable func health(_ request: Request, context: BasicRequestContext) async throws -> Response {
        let space = try await store.space()
        return .json(
            NodeHealth(
                status: "UP", nodeID: nodeID.rawValue, freeBytes: space.freeBytes, blobCount: store.blobCount,
                capacityBytes: space.capacityBytes, usedBytes: space.usedBytes, zone: zone, storedBytes: store.storedBytes))
    }

    @Sendable func inventory(_ request: Request, context: BasicRequestContext) async throws -> Response {
        let query = request.uri.queryParameters
        let after = query.get("after").flatMap { $0.isEmpty ? nil : $0 }
        var limit = Self.defaultInventoryLimit
        if let text = query.get("limit") {
            guard let value = Int(text), value > 0 else {
                throw APIError.badRequest("limit must be a positive whole number.", code: "invalid_query")
            }
            limit = min(value, Self.maximumInventoryLimit)
        }
        return .json(try await store.inventory(after: after, limit: limit))
    }
}
