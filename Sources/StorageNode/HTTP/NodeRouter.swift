import DFSCore
import DFSServer
import Hummingbird

/// The node's HTTP API (routes and wire types in `NodeProtocol`).
enum NodeRouter {
    static func make(
        nodeID: NodeID, zone: String? = nil, store: BlobStore, coordinator: PutCoordinator, clusterSecret: ClusterSecret? = nil
    ) -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: NodeIDHeaderMiddleware(nodeID: nodeID))
        router.add(middleware: APIErrorMiddleware(mapping: APIError.init(mapping:)))
        if let clusterSecret { router.add(middleware: ClusterSecretMiddleware(secret: clusterSecret)) }
        BlobController(store: store, coordinator: coordinator).register(on: router)
        NodeStatusController(nodeID: nodeID, zone: zone ?? nodeID.rawValue, store: store).register(on: router)
        return router
    }
}

/// Names the answering node on every response (`x-dfs-node-id`), errors included.
struct NodeIDHeaderMiddleware<Context: RequestContext>: RouterMiddleware {
    let nodeID: NodeID

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response
    {
        var response = try await next(request, context)
        response.headers[.dfsNodeID] = nodeID.rawValue
        return response
    }
}
