import DFSServer
import Foundation
import HTTPTypes
import Hummingbird

/// Serves the dashboard: the page at `GET /`, its script, style and icon under `/dashboard/`.
/// Everything is static; the page reads the public API like any other client.
struct DashboardRoutes: Sendable {
    func register(on router: Router<GatewayContext>) {
        router.get("/") { request, _ in Self.response(serving: DashboardAssets.page, to: request) }
        router.get("/dashboard/:asset") { request, context in
            let name = try context.parameters.require("asset")
            guard let asset = DashboardAssets.byName[name] else {
                throw APIError(status: .notFound, code: "not_found", message: "the dashboard has no file named \(name)")
            }
            return Self.response(serving: asset, to: request)
        }
    }

    static func response(serving asset: DashboardAsset, to request: Request) -> Response {
        var headers: HTTPFields = [
            .contentType: asset.contentType,
            .eTag: asset.etag,
            // Revalidate every time: a new gateway binary must never run an old cached script.
            .cacheControl: "no-cache",
            .contentSecurityPolicy: DashboardAssets.contentSecurityPolicy,
            HTTPField.Name("x-content-type-options")!: "nosniff",
            HTTPField.Name("referrer-policy")!: "no-referrer",
        ]
        if let ifNoneMatch = request.headers[.ifNoneMatch],
            ifNoneMatch.split(separator: ",").contains(where: { $0.trimmingCharacters(in: .whitespaces) == asset.etag })
        {
            return Response(status: .notModified, headers: headers)
        }
        headers[.contentLength] = String(asset.body.readableBytes)
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: asset.body))
    }
}
