import AsyncHTTPClient
import DFSCore
import Foundation
import Logging
import NIOCore
import ServiceLifecycle

/// Registers the node with the gateway at start and again every `interval`, which doubles as its heartbeat.
///
/// Never fatal: a gateway that is down or refuses is logged (see `RegistrationLogPolicy`: quiet while the
/// gateway may still be starting, a warning when registration starts failing after that) and retried on the
/// next tick.
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
        // Only how loudly a failure is logged depends on time; that decision is RegistrationLogPolicy's.
        let clock = ContinuousClock()
        var logPolicy = RegistrationLogPolicy()
        let started = clock.now
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let failure = await registerOnce()
            let entry = logPolicy.entry(succeeded: failure == nil, elapsed: started.duration(to: clock.now))
            var metadata: Logger.Metadata = ["gateway": "\(gatewayURL)"]
            if let failure { metadata["error"] = "\(failure)" }
            logger.log(level: entry.level, entry.message, metadata: metadata)
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
