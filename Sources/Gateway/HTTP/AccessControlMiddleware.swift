import DFSCore
import DFSServer
import HTTPTypes
import Hummingbird

/// Checks every request against `AccessControl` before its handler runs; a refused request changes nothing.
/// Sits inside `APIErrorMiddleware`, so refusals render as the same JSON error body as every other error.
struct AccessControlMiddleware<Context: RequestContext>: RouterMiddleware {
    let access: AccessControl

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response
    {
        let requirement = AccessPolicy.requirement(method: request.method, route: context.endpointPath, path: request.uri.path)
        let credentials = PresentedCredentials(
            authorization: request.headers[.authorization], clusterSecret: request.headers[.dfsClusterSecret],
            downloadLink: Self.downloadLinkClaim(request, context: context))
        switch access.verdict(for: requirement, presenting: credentials) {
        case .allowed(let key):
            var context = context
            if let key { context.logger[metadataKey: "api_key"] = "\(key)" }
            return try await next(request, context)
        case .missingKey:
            throw APIError(
                status: .unauthorized, code: "unauthorized",
                message: "this endpoint needs an API key: send Authorization: Bearer <key>",
                headers: [.wwwAuthenticate: #"Bearer realm="dfs-gateway""#])
        case .unknownKey:
            throw APIError(
                status: .unauthorized, code: "unauthorized", message: "the API key is not valid",
                headers: [.wwwAuthenticate: #"Bearer realm="dfs-gateway", error="invalid_token""#])
        case .readOnlyKey(let name):
            context.logger.info(
                "read-only key refused a change", metadata: ["api_key": "\(name)", "method": "\(request.method)"])
            throw APIError(
                status: .forbidden, code: "forbidden",
                message:
                    "this API key is read-only; \(request.method) \(context.endpointPath ?? request.uri.path) needs a read-write key",
                headers: [.wwwAuthenticate: #"Bearer realm="dfs-gateway", error="insufficient_scope""#])
        case .invalidDownloadLink:
            throw APIError(
                status: .unauthorized, code: "unauthorized",
                message:
                    "this download link is not valid for this file or has expired; get a new one from GET /files/{key}/download-link",
                headers: [.wwwAuthenticate: #"Bearer realm="dfs-gateway""#])
        case .missingClusterSecret:
            throw APIError(
                status: .unauthorized, code: "unauthorized",
                message: "internal routes need the cluster secret in \(ClusterSecret.headerName)",
                headers: [.wwwAuthenticate: "DFS-Cluster-Secret"])
        }
    }
}

extension AccessControlMiddleware {
    /// The route whose requests may carry a signed link instead of a key.
    static var linkRoute: String { "/download/{key}" }

    /// A download's `expires` and `signature` query values, when it has both.
    static func downloadLinkClaim(_ request: Request, context: Context) -> DownloadLinkClaim? {
        guard context.endpointPath == linkRoute, let fileKey = context.parameters.get("key") else { return nil }
        let query = request.uri.queryParameters
        guard let expires = query.get("expires"), let signature = query.get("signature") else { return nil }
        return DownloadLinkClaim(fileKey: fileKey, expires: expires, signature: signature)
    }
}

extension HTTPField.Name {
    /// Spelled once, in `ClusterSecret`; a valid token, so the force-unwrap cannot fail.
    static let dfsClusterSecret = HTTPField.Name(ClusterSecret.headerName)!
}
