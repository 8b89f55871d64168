import DFSServer
import Foundation
import Hummingbird

/// `GET /status/history[?since=T]`: what the dashboard charts. Without `since` every sample of the window, so a page
/// opened now shows the last minutes at once; with it only samples taken after T (a `t` of an earlier answer), so
/// each poll carries a few hundred bytes.
struct HistoryRoutes: Sendable {
    let services: GatewayServices

    func register(on router: Router<GatewayContext>) {
        router.get("/status/history") { request, _ in try await self.history(request) }
    }

    func history(_ request: Request) async throws -> HistoryResponse {
        var since: Date? = nil
        if let raw = request.uri.queryParameters.get("since") {
            // Decimal digits only, as the document's `number` means: no hex float, `inf` or `nan`, which Double also reads.
            let isDecimal =
                raw.first.map { $0.isASCII && ($0.isNumber || $0 == "-") } ?? false
                && raw.allSatisfy { $0.isASCII && ($0.isNumber || ".eE+-".contains($0)) }
            guard isDecimal, let seconds = Double(raw), seconds >= 0 else {
                throw APIError.badRequest("since must be a time in Unix seconds, e.g. the t of a sample already received")
            }
            // Far beyond any sample: nothing is newer (and a huge number stays a valid date).
            since = Date(timeIntervalSince1970: min(seconds, 1e12))
        }
        let status = try await GatewayRoutes(services: services).replicationStatus()
        let history = services.history
        return HistoryResponse(history.samples(after: since), interval: history.interval, window: history.window, status: status)
    }
}
