import DFSServer
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

@testable import Gateway

/// The dashboard is served from files compiled into dfs-gateway, with a strict CSP.
@Suite("Dashboard files are served from the binary")
struct DashboardRoutesTests {
    private func withDashboard(_ body: @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        let router = Router(context: GatewayContext.self)
        router.add(middleware: APIErrorMiddleware(mapping: APIError.init(mapping:)))
        DashboardRoutes().register(on: router)
        try await Application(router: router).test(.router, body)
    }

    @Test("GET / answers the page as HTML with a CSP that allows no inline or foreign code")
    func pageIsServed() async throws {
        try await withDashboard { client in
            let page = try await client.execute(uri: "/", method: .get)
            #expect(page.status == .ok)
            #expect(page.headers[.contentType] == "text/html; charset=utf-8")
            #expect(page.headers[.cacheControl] == "no-cache")
            let policy = try #require(page.headers[.contentSecurityPolicy])
            #expect(policy.contains("default-src 'self'"))
            #expect(policy.contains("script-src 'self'"))
            #expect(!policy.contains("unsafe-inline"))
            let html = String(buffer: page.body)
            #expect(html.contains("<script type=\"module\" src=\"/dashboard/app.js\">"))
            // Everything the page loads must be one of the files served below, never a CDN.
            #expect(!html.contains("http://") && !html.contains("https://"))
            #expect(!html.contains("<script>") && !html.contains("style=\""))
        }
    }

    @Test("script, style and icon come with their content types and the same bytes as the source files")
    func assetsAreServed() async throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../Sources/Gateway/Dashboard/static").standardized
        let expected: [(String, String)] = [
            ("app.js", "text/javascript; charset=utf-8"), ("api.js", "text/javascript; charset=utf-8"),
            ("dom.js", "text/javascript; charset=utf-8"), ("uploads.js", "text/javascript; charset=utf-8"),
            ("history.js", "text/javascript; charset=utf-8"), ("charts.js", "text/javascript; charset=utf-8"),
            ("style.css", "text/css; charset=utf-8"), ("favicon.svg", "image/svg+xml"),
        ]
        try await withDashboard { client in
            for (name, type) in expected {
                let answer = try await client.execute(uri: "/dashboard/\(name)", method: .get)
                #expect(answer.status == .ok, "\(name)")
                #expect(answer.headers[.contentType] == type, "\(name)")
                #expect(answer.headers[HTTPField.Name("x-content-type-options")!] == "nosniff")
                let source = try Data(contentsOf: folder.appendingPathComponent(name))
                #expect(Array(answer.body.readableBytesView) == Array(source), "\(name) differs from its source file")
            }
        }
    }

    @Test("a matching If-None-Match gets 304 without a body; a stale one gets the file")
    func etagRevalidation() async throws {
        try await withDashboard { client in
            let first = try await client.execute(uri: "/dashboard/app.js", method: .get)
            let etag = try #require(first.headers[.eTag])
            let again = try await client.execute(uri: "/dashboard/app.js", method: .get, headers: [.ifNoneMatch: etag])
            #expect(again.status == .notModified)
            #expect(again.body.readableBytes == 0)
            let stale = try await client.execute(uri: "/dashboard/app.js", method: .get, headers: [.ifNoneMatch: "\"0000\""])
            #expect(stale.status == .ok)
            #expect(stale.body.readableBytes == first.body.readableBytes)
        }
    }

    @Test("an unknown dashboard file is a JSON 404, not an HTML page")
    func unknownAssetIsJSONError() async throws {
        try await withDashboard { client in
            let answer = try await client.execute(uri: "/dashboard/secrets.txt", method: .get)
            #expect(answer.status == .notFound)
            let body = try JSONSerialization.jsonObject(with: Data(buffer: answer.body)) as? [String: String]
            #expect(body?["error"] == "not_found")
            #expect(body?["message"]?.contains("secrets.txt") == true)
        }
    }
}
