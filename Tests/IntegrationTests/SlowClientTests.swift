import Foundation
import Testing
import TestSupport

/// Clients that open connections and then send too little: half a request head, nothing after a response, or a
/// body that stops. Each is closed on time by the gateway and the nodes, and everyone else keeps being served.
@Suite("Slow and idle clients", .serialized)
struct SlowClientTests {
    static let limits = ["--request-head-timeout", "2s", "--idle-timeout", "3s"]

    @Test("2,000 connections holding half a request head are closed after the head timeout; other requests are served meanwhile")
    func halfOpenHeadsAreClosed() async throws {
        raiseOpenFileLimit()
        try await withCluster(nodes: 1, gatewayArguments: Self.limits, nodeArguments: Self.limits) { cluster in
            let clock = ContinuousClock()
            var halfOpen: [(connection: RawConnection, openedAt: ContinuousClock.Instant)] = []
            for index in 0..<2_000 {
                let connection = try RawConnection(
                    port: index % 4 == 0 ? port(of: cluster.nodeURL(1)) : port(of: cluster.gatewayURL))
                try connection.send("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Trickle: ")
                halfOpen.append((connection, clock.now))
            }
            let allOpen = clock.now
            for _ in 0..<20 {
                #expect(try await cluster.gateway.get("/health").status == 200)
            }
            #expect(try await cluster.nodeClient(1).get("/health").status == 200)
            // Those opened less than a second ago are still held: the head timeout closes them, nothing sooner.
            let recent = halfOpen.filter { clock.now - $0.openedAt < .seconds(1) }
            #expect(recent.filter(\.connection.isClosedByPeer).isEmpty)
            try await eventually("every half-open connection closed", timeout: .seconds(10), interval: .milliseconds(200)) {
                halfOpen.allSatisfy(\.connection.isClosedByPeer)
            }
            let closedAfter = clock.now - allOpen
            #expect(closedAfter < .seconds(6), "the last ones closed \(closedAfter) after they were opened")
            #expect(try await cluster.gateway.get("/health").status == 200)
        }
    }

    @Test("a kept-alive connection idle past the idle timeout is closed; one answered request does not end it")
    func idleKeepAliveIsClosed() async throws {
        try await withCluster(nodes: 1, gatewayArguments: Self.limits) { cluster in
            let connection = try RawConnection(port: port(of: cluster.gatewayURL))
            try connection.send("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            let clock = ContinuousClock()
            let answered = clock.now
            try await Task.sleep(for: .seconds(1))
            #expect(!connection.isClosedByPeer)
            try await eventually("the idle connection closed", timeout: .seconds(8), interval: .milliseconds(200)) {
                connection.isClosedByPeer
            }
            #expect(clock.now - answered >= .seconds(2))
        }
    }

    @Test("an upload whose body stops arriving is ended: nothing recorded, nothing left on the node")
    func stalledBodyIsEnded() async throws {
        try await withCluster(nodes: 1, gatewayArguments: Self.limits) { cluster in
            let connection = try RawConnection(port: port(of: cluster.gatewayURL))
            try connection.send(
                "POST /upload?filename=stalled.bin HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1048576\r\n\r\n")
            try connection.send([UInt8](repeating: 7, count: 65_536))
            try await eventually("the stalled upload's connection closed", timeout: .seconds(10), interval: .milliseconds(200)) {
                connection.isClosedByPeer
            }
            try await eventually("nothing recorded and nothing left on the node", timeout: .seconds(10)) {
                let files = try await cluster.gateway.getJSON("/files", as: FilePage.self)
                let inventory = try await cluster.nodeClient(1).getJSON("/inventory", as: InventoryAnswer.self)
                return files.files.isEmpty && inventory.blobs.isEmpty
            }
        }
    }

    struct FilePage: Decodable {
        struct File: Decodable { let file_key: String }
        let files: [File]
    }

    func port(of url: String) -> Int {
        Int(url.split(separator: ":").last!.filter(\.isNumber))!
    }
}
