import DFSLauncher
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Synchronization
import Testing

@testable import StorageNode

@Suite("Gateway registration")
struct GatewayRegistrationTests {
    func registration(gateway: String, client: NodeApplication) -> GatewayRegistration {
        GatewayRegistration(
            gatewayURL: gateway,
            announcement: .init(id: "node-2", address: "http://127.0.0.1:8002", role: "REPLICA"),
            interval: .seconds(10),
            // Generous: the stand-in gateway runs in this (possibly starved) test process.
            timeout: .seconds(10),
            httpClient: client.httpClient,
            logger: Logger(label: "test.registration")
        )
    }

    @Test("registration posts id, address and role as JSON to /internal/nodes/register")
    func postsAnnouncement() async throws {
        let received = Mutex<[GatewayRegistration.Announcement]>([])
        let router = Router()
        router.post("/internal/nodes/register") { request, context -> HTTPResponse.Status in
            let body = try await request.body.collect(upTo: 1 << 16)
            let announcement = try JSONDecoder().decode(GatewayRegistration.Announcement.self, from: Data(body.readableBytesView))
            received.withLock { $0.append(announcement) }
            return .ok
        }
        let gateway = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await withRoutedNode { _, node, _ in
            try await gateway.test(.live) { client in
                let failure = await registration(gateway: "http://127.0.0.1:\(client.port!)", client: node).registerOnce()
                #expect(failure == nil)
            }
        }
        #expect(received.withLock { $0 } == [.init(id: "node-2", address: "http://127.0.0.1:8002", role: "REPLICA")])
    }

    @Test("a gateway that is down yields a failure reason, never an error")
    func gatewayDown() async throws {
        let port = try #require(LoopbackPort.free(count: 1).first)
        try await withRoutedNode { _, node, _ in
            let failure = await registration(gateway: "http://127.0.0.1:\(port)", client: node).registerOnce()
            #expect(failure != nil)
        }
    }
}

@Suite("How registration outcomes are logged")
struct RegistrationLogPolicyTests {
    @Test("a gateway not up yet during the first 30 s is debug, not a warning; registering is info")
    func quietWhileTheGatewayStarts() {
        var policy = RegistrationLogPolicy(startupGrace: .seconds(30))
        #expect(policy.entry(succeeded: false, elapsed: .milliseconds(10)).level == .debug)
        #expect(policy.entry(succeeded: false, elapsed: .seconds(10)).level == .debug)
        #expect(policy.entry(succeeded: true, elapsed: .seconds(12)).level == .info)
        #expect(policy.entry(succeeded: true, elapsed: .seconds(22)).level == .trace)
    }

    @Test("still failing after the grace period warns once; losing the gateway later warns at once")
    func warnsWhenItMatters() {
        var neverUp = RegistrationLogPolicy(startupGrace: .seconds(30))
        #expect(neverUp.entry(succeeded: false, elapsed: .seconds(1)).level == .debug)
        #expect(neverUp.entry(succeeded: false, elapsed: .seconds(31)).level == .warning)
        #expect(neverUp.entry(succeeded: false, elapsed: .seconds(41)).level == .debug)

        var lost = RegistrationLogPolicy(startupGrace: .seconds(30))
        #expect(lost.entry(succeeded: true, elapsed: .seconds(1)).level == .info)
        #expect(lost.entry(succeeded: false, elapsed: .seconds(11)).level == .warning)
        #expect(lost.entry(succeeded: false, elapsed: .seconds(21)).level == .debug)
        #expect(lost.entry(succeeded: true, elapsed: .seconds(31)).level == .info)
        #expect(lost.entry(succeeded: false, elapsed: .seconds(41)).level == .warning)
    }
}
