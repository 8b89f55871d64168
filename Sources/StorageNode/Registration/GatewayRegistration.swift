import AsyncHTTPClient
import DFSCore
import Foundation
import Logging
import NIOCore
import ServiceLifecycle

/// Registers the node with the gateway at start and again every `interval`, which doubles as its heartbeat.
///
/// Never fatal: a gateway that is down or refuses is logged (a warning when registration starts failing,
/// debug while it keeps failing) and retried on the next tick.
struct GatewayRegistration: Service {
    /// The body of `POST /internal/nodes/register`.
    struct Announcement: Codable, Equatable, Sendable {
        var id: String
        var address: String
        /// MAIN, REPLICA or BACKUP; omitted when the node was given no role.
        var role: String?
    }

    static let path = "/internal/nodes/register"

    let gatewayURL: String
    let announcement: Announcement
    let interval: Duration
    let timeout: Duration
    let httpClient: HTTPClient
    /// The gateway refuses registrations without it, so no stranger can add a node to the cluster.
    var clusterSecret: ClusterSecret? = nil
    let logger: Logger

    func run() async throws {
        var wasRegistered: Bool?
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let failure = await registerOnce()
            switch (failure, wasRegistered) {
            case (nil, .some(true)):
                logger.trace("heartbeat sent", metadata: ["gateway": "\(gatewayURL)"])
            case (nil, _):
                logger.info("registered with gateway", metadata: ["gateway": "\(gatewayURL)"])
            case (let failure?, .some(false)):
                logger.debug("gateway registration still failing", metadata: ["gateway": "\(gatewayURL)", "error": "\(failure)"])
            case (let failure?, _):
                logger.warning(
                    "gateway registration failed; will retry", metadata: ["gateway": "\(gatewayURL)", "error": "\(failure)"])
            }
            wasRegistered = failure == nil
            try? await cancelWhenGracefulShutdown { [interval] in try await Task.sleep(for: interval) }
        }
    }

    /// One registration call; returns why it failed, or nil.
    func registerOnce() async -> String? {
        do {
            var request = HTTPClientRequest(url: gatewayURL + Self.path)
            request.method = .POST
            request.headers.add(name: "content-type", value: "application/json")
            if let clusterSecret { request.headers.add(name: ClusterSecret.headerName, value: clusterSecret.value) }
            request.body = .bytes(ByteBuffer(bytes: try JSONEncoder().encode(announcement)))
            let response = try await httpClient.execute(request, timeout: .init(timeout))
            let body = try await response.body.collect(upTo: 64 << 10)
            guard (200..<300).contains(response.status.code) else {
                return "HTTP \(response.status.code): \(String(buffer: body).prefix(200))"
            }
            return nil
        } catch {
            return "\(error)"
        }
    }
}
