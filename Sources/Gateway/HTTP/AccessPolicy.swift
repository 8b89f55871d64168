import DFSCore
import Foundation
import HTTPTypes

/// What a request must present before its handler runs.
enum AccessRequirement: Sendable, Equatable {
    /// Anyone: the liveness check, the dashboard page and its assets, the API description.
    case open
    /// Any valid API key (when keys are configured).
    case read
    /// A read-write API key (when keys are configured).
    case write
    /// The cluster secret: routes only nodes call.
    case cluster
}

/// Which requirement each route has. Decided on the matched route template (`/files/{key}`), not the raw path, so
/// `/dashboard/../files` cannot pass for a dashboard asset; anything not listed needs a key (deny by default).
enum AccessPolicy {
    /// Pages a browser loads before it can know a key; the dashboard then asks for one.
    static let openRoutes: Set<String> = ["/", "/health", "/openapi.yaml", "/favicon.ico"]
    /// Static assets of the dashboard, under one folder.
    static let openRoutePrefixes = ["/dashboard"]
    /// GETs that act rather than look: `/nodes/check` probes every node at once and can start repairs.
    static let actingGetRoutes: Set<String> = ["/nodes/check"]

    /// - Parameters:
    ///   - route: the router's matched template, nil when no route matched.
    ///   - path: the raw request path, used only when no route matched (static files served by middleware).
    static func requirement(method: HTTPRequest.Method, route: String?, path: String) -> AccessRequirement {
        let isRead = method == .get || method == .head
        let template = route ?? path
        if template.hasPrefix("/internal/") { return .cluster }
        if isRead {
            // A raw path is trusted only when it climbs nowhere: no `..` segment can reach past the asset folder.
            let climbs = route == nil && path.split(separator: "/").contains("..")
            if !climbs
                && (openRoutes.contains(template)
                    || openRoutePrefixes.contains(where: { template == $0 || template.hasPrefix($0 + "/") }))
            {
                return .open
            }
            return actingGetRoutes.contains(template) ? .write : .read
        }
        return .write
    }
}

/// What the client presented: the bearer token of `Authorization`, the cluster secret header and a signed
/// download link's query values, if any.
struct PresentedCredentials: Sendable, Equatable {
    var bearerToken: String?
    var clusterSecret: String?
    var downloadLink: DownloadLinkClaim?

    /// - Parameter authorization: the `Authorization` header; only the `Bearer` scheme (any case) counts.
    init(authorization: String?, clusterSecret: String?, downloadLink: DownloadLinkClaim? = nil) {
        var token: String? = nil
        if let authorization {
            let parts = authorization.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
            if parts.count == 2, parts[0].lowercased() == "bearer" { token = parts[1].trimmingCharacters(in: .whitespaces) }
        }
        self.bearerToken = token
        self.clusterSecret = clusterSecret
        self.downloadLink = downloadLink
    }
}

/// The outcome of checking one request.
enum AccessVerdict: Sendable, Equatable {
    /// `key` names the API key used, for logs (nil when none was needed or configured).
    case allowed(key: String?)
    case missingKey
    case unknownKey
    case readOnlyKey(name: String)
    case missingClusterSecret
    case invalidDownloadLink
}

/// The gateway's access rules: optional client API keys and the cluster secret of the internal routes.
struct AccessControl: Sendable {
    /// nil: no keys configured, the API is open (loopback, or `--insecure-open`).
    var keys: APIKeyring?
    /// nil: internal routes are open too.
    var clusterSecret: ClusterSecret?
    /// Signs and checks `/download/{key}?expires=&signature=` links.
    var downloadLinks = DownloadLinkSigner()

    /// The name logs give a request let in by a signed download link.
    static let downloadLinkName = "download-link"

    func verdict(
        for requirement: AccessRequirement, presenting credentials: PresentedCredentials, now: Date = Date()
    ) -> AccessVerdict {
        switch requirement {
        case .open:
            return .allowed(key: nil)
        case .cluster:
            guard let clusterSecret else { return .allowed(key: nil) }
            return clusterSecret.matches(credentials.clusterSecret) ? .allowed(key: nil) : .missingClusterSecret
        case .read, .write:
            guard let keys else { return .allowed(key: nil) }
            // A link stands in for a key only where it reads the one file it was signed for (the middleware passes
            // a claim only for downloads); a bearer token, when also sent, decides instead.
            if requirement == .read, credentials.bearerToken == nil, let claim = credentials.downloadLink {
                return downloadLinks.accepts(claim, now: now) ? .allowed(key: Self.downloadLinkName) : .invalidDownloadLink
            }
            guard let token = credentials.bearerToken, !token.isEmpty else { return .missingKey }
            guard let key = keys.key(for: token) else { return .unknownKey }
            if requirement == .write && key.access != .readWrite { return .readOnlyKey(name: key.name) }
            return .allowed(key: key.name)
        }
    }
}
