import DFSLauncher
import Foundation
import Testing

@Suite("The control socket: one line in, one JSON line out, owner only")
struct ClusterControlSocketTests {
    private func withTemporaryFolder(_ body: (String) async throws -> Void) async throws {
        let folder = NSTemporaryDirectory() + "dfs-control-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try await body(folder)
    }

    @Test("a request over the socket reaches the controller; the socket file is 0600; a second server is refused")
    func roundTrip() async throws {
        try await withTemporaryFolder { folder in
            let cluster = FakeCluster()
            let controller = ClusterController(cluster: cluster, supervisorPID: 5, restartPolicy: .no)
            controller.enter(.running)
            let path = ClusterControlServer.path(inDataDirectory: folder)
            let server = try await ClusterControlServer.open(at: path, controller: controller)
            let serving = Task { await server.run() }

            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
            await #expect(throws: ClusterControlServerError.self) {
                _ = try await ClusterControlServer.open(at: path, controller: controller)
            }

            let paused = try await ClusterControlClient.request(
                ClusterControlRequest(action: .pause, member: .node(2)), to: path, timeout: .seconds(10))
            #expect(paused.succeeded && paused.members.first { $0.member == .node(2) }?.state == .paused, "\(paused)")
            let refused = try await ClusterControlClient.request(
                ClusterControlRequest(action: .pause, member: .node(2)), to: path, timeout: .seconds(10))
            #expect(!refused.succeeded && refused.message.contains("already paused"))
            #expect(cluster.calls == ["pause node-2"])

            serving.cancel()
            await serving.value
            server.removeSocketFile()
            await #expect(throws: ClusterControlClientError.noSocket(path: path)) {
                _ = try await ClusterControlClient.request(ClusterControlRequest(action: .status), to: path, timeout: .seconds(5))
            }
        }
    }

    @Test("a socket left by a dfs up that ended is reported as stale, and the next server replaces it")
    func staleSocket() async throws {
        try await withTemporaryFolder { folder in
            let controller = ClusterController(cluster: FakeCluster(), supervisorPID: 5, restartPolicy: .no)
            let path = ClusterControlServer.path(inDataDirectory: folder)
            try leaveStaleSocket(at: path)  // as a SIGKILLed dfs up leaves it
            await #expect(throws: ClusterControlClientError.staleSocket(path: path)) {
                _ = try await ClusterControlClient.request(ClusterControlRequest(action: .status), to: path, timeout: .seconds(5))
            }
            let server = try await ClusterControlServer.open(at: path, controller: controller)
            let serving = Task { await server.run() }
            let reply = try await ClusterControlClient.request(
                ClusterControlRequest(action: .status), to: path, timeout: .seconds(10))
            #expect(reply.succeeded && reply.members.count == 4)
            serving.cancel()
            await serving.value
            server.removeSocketFile()
        }
    }

    /// Binds a Unix socket at `path` and closes it without removing the file.
    private func leaveStaleSocket(at path: String) throws {
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        try #require(descriptor >= 0)
        defer { close(descriptor) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            buffer.copyBytes(from: Array(path.utf8) + [0])
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        try #require(bound == 0)
    }
}

extension ClusterControlSocketTests {
    @Test("a client that connects and sends nothing does not keep others from being answered, and is closed on time")
    func silentClientDoesNotBlock() async throws {
        let folder = NSTemporaryDirectory() + "dfs-control-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let controller = ClusterController(cluster: FakeCluster(), supervisorPID: 5, restartPolicy: .no)
        let path = ClusterControlServer.path(inDataDirectory: folder)
        let server = try await ClusterControlServer.open(at: path, controller: controller, requestTimeout: .milliseconds(300))
        let serving = Task { await server.run() }
        defer { server.removeSocketFile() }
        let silent = try SilentClient(path: path)
        defer { silent.close() }
        let reply = try await ClusterControlClient.request(
            ClusterControlRequest(action: .status), to: path, timeout: .seconds(30))
        #expect(reply.succeeded)
        #expect(silent.readsEndOfStream(within: .seconds(5)), "the silent connection is still open")
        serving.cancel()
        await serving.value
    }
}

/// A connection that never sends a byte.
private struct SilentClient {
    let descriptor: Int32

    init(path: String) throws {
        descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8) + [0]) }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        try #require(connected == 0)
    }

    /// Whether the server closes the connection (a read returns 0) before `limit`.
    func readsEndOfStream(within limit: Duration) -> Bool {
        var timeout = timeval(tv_sec: Int(limit.components.seconds), tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var byte: UInt8 = 0
        return read(descriptor, &byte, 1) == 0
    }

    func close() {
        _ = Glibc.close(descriptor)
    }
}
