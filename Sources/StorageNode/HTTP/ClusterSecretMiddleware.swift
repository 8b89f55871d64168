import DFSCore
import DFSServer
import Hummingbird

/// Refuses any request that does not carry the cluster secret: 401, before a handler runs, so nothing changes.
struct ClusterSecretMiddleware<Context: RequestContext>: RouterMiddleware {
    let secret: ClusterSecret

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response
    {
        guard secret.matches(request.headers[.dfsClusterSecret]) else {
            throw APIError(
                status: .unauthorized, code: "unauthorized",
                message: "this node only answers its cluster: send the cluster secret in \(ClusterSecret.headerName)",
                headers: [.wwwAuthenticate: "DFS-Cluster-Secret"])
        }
        return try await next(request, context)
    }
}
