import DFSServer
import HTTPTypes
import Hummingbird

/// Answers `405` with an `Allow` header when the path exists under other methods (RFC 9110 §15.5.6); the
/// router alone answers `404` for a known path with an unknown method, which tells a client the wrong thing.
///
/// Added to the router after every route: Hummingbird gives a route only the middleware added before it, and
/// gives all of them to the unmatched-request responder, so this sees only the requests no route took.
struct MethodNotAllowedMiddleware<Context: RequestContext>: RouterMiddleware {
    private let routes: [(method: HTTPRequest.Method, path: RouterPath)]

    init(routes: [Router<Context>.RouteDescription]) {
        self.routes = routes.map { ($0.method, $0.path) }
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response
    {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            let allowed = allowedMethods(for: request.uri.path)
            guard !allowed.isEmpty else { throw error }
            let list = allowed.joined(separator: ", ")
            var response = try APIError(
                status: .methodNotAllowed, code: "method_not_allowed",
                message: "\(request.method) is not allowed on \(request.uri.path); allowed: \(list)"
            ).response(from: request, context: context)
            response.headers[.allow] = list
            return response
        }
    }

    /// The methods registered for a path, sorted so `Allow` reads the same on every request.
    func allowedMethods(for path: String) -> [String] {
        let segments = path.split(separator: "/", omittingEmptySubsequences: true)
        var matching = routes.filter { Self.matches($0.path, segments) }
        // As the router does, a literal segment wins over a parameter in the same place: `/nodes/check` is the
        // check's path, not `/nodes/{id}` with the id "check".
        for index in segments.indices {
            let literal = matching.filter { index < $0.path.components.count && !Self.isParameter($0.path.components[index]) }
            if !literal.isEmpty { matching = literal }
        }
        return Set(matching.map(\.method.rawValue)).sorted()
    }

    private static func isParameter(_ element: RouterPath.Element) -> Bool {
        let text = element.description
        return text.hasPrefix(":") || text.hasPrefix("{") || text.hasPrefix("*")
    }

    private static func matches(_ route: RouterPath, _ segments: [Substring]) -> Bool {
        for (index, element) in route.components.enumerated() {
            if element.description == "**" { return true }  // a recursive wildcard takes the rest
            guard index < segments.count, element ~= segments[index] else { return false }
        }
        return route.components.count == segments.count
    }
}
