import DFSCore
import HTTPTypes
import Hummingbird

/// Checks every request against `AccessControl` before its handler runs; a refused request changes nothing.
/// Sits inside `APIErrorMiddleware`, so refusals render as SPEC §2.3 JSON.
struct AccessControlMiddleware<Context: RequestContext>: RouterMiddleware {
    let access: AccessControl

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let requirement = AccessPolicy.requirement(method: request.method, route: context.endpointPath, path: request.uri.path)
        let credentials = PresentedCredentials(
            authorization: request.headers[.authorization], clusterSecret: request.headers[.dfsClusterSecret])
        switch access.verdict(for: requirement, presenting: credentials) {
        case .allowed(let key):
            var context = context
            if let key { context.logger[metadataKey: "api_key"] = "\(key)" }
            return try await next(request, context)
        case .missingKey:
            throw APIError(
                status: .unauthorized, code: "unauthorized", message: "this endpoint needs an API key: send Authorization: Bearer <key>",
                headers: [.wwwAuthenticate: #"Bearer realm="dfs-gateway""#])
        case .unknownKey:
            throw APIError(
                status: .unauthorized, code: "unauthorized", message: "the API key is not valid",
                headers: [.wwwAuthenticate: #"Bearer realm="dfs-gateway", error="invalid_token""#])
        case .readOnlyKey(let name):
            context.logger.info("read-only key refused a change", metadata: ["api_key": "\(name)", "method": "\(request.method)"])
            throw APIError(
                status: .forbidden, code: "forbidden", message: "this API key is read-only; \(request.method) \(context.endpointPath ?? request.uri.path) needs a read-write key",
                headers: [.wwwAuthenticate: #"Bearer realm="dfs-gateway", error="insufficient_scope""#])
        case .missingClusterSecret:
            throw APIError(
                status: .unauthorized, code: "unauthorized", message: "internal routes need the cluster secret in \(ClusterSecret.headerName)",
                headers: [.wwwAuthenticate: "DFS-Cluster-Secret"])
        }
    }
}

extension HTTPField.Name {
    /// Spelled once, in `ClusterSecret`; a valid token, so the force-unwrap cannot fail.
    static let dfsClusterSecret = HTTPField.Name(ClusterSecret.headerName)!
}
