import Crypto
import DFSCore
import NIOCore

/// One file of the dashboard, compiled into the binary, with what a response needs to serve it.
struct DashboardAsset: Sendable {
    let body: ByteBuffer
    let contentType: String
    /// A strong validator from the bytes, so a browser revalidating with `If-None-Match` gets a 304.
    let etag: String

    init(_ bytes: [UInt8], contentType: String) {
        body = ByteBuffer(bytes: bytes)
        self.contentType = contentType
        etag = "\"" + SHA256Digest(SHA256.hash(data: bytes)).hex.prefix(24) + "\""
    }
}

/// The dashboard's files (`Dashboard/static`, embedded by SwiftPM's `.embedInCode`): the page at `GET /`,
/// the rest under `/dashboard/<name>`.
enum DashboardAssets {
    static let page = DashboardAsset(PackageResources.index_html, contentType: "text/html; charset=utf-8")

    static let byName: [String: DashboardAsset] = [
        // ES modules: app.js imports the others.
        "app.js": DashboardAsset(PackageResources.app_js, contentType: "text/javascript; charset=utf-8"),
        "api.js": DashboardAsset(PackageResources.api_js, contentType: "text/javascript; charset=utf-8"),
        "dom.js": DashboardAsset(PackageResources.dom_js, contentType: "text/javascript; charset=utf-8"),
        "uploads.js": DashboardAsset(PackageResources.uploads_js, contentType: "text/javascript; charset=utf-8"),
        "history.js": DashboardAsset(PackageResources.history_js, contentType: "text/javascript; charset=utf-8"),
        "charts.js": DashboardAsset(PackageResources.charts_js, contentType: "text/javascript; charset=utf-8"),
        "style.css": DashboardAsset(PackageResources.style_css, contentType: "text/css; charset=utf-8"),
        // Served so the browser's automatic favicon request finds something instead of logging a 404.
        "favicon.svg": DashboardAsset(PackageResources.favicon_svg, contentType: "image/svg+xml"),
    ]

    /// Content-Security-Policy for every dashboard response: only this origin's scripts, styles and API, no
    /// inline code, no framing (the page holds an API key).
    static let contentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        + "object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
}
