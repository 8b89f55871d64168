#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif
import Foundation
import NIOCore
import NIOPosix

/// The `dfs up` side of the control socket: a Unix domain socket in the data folder, readable and writable
/// only by its owner (0600), where each connection carries one request line and gets one JSON reply line.
public final class ClusterControlServer: Sendable {
    /// `<data>/control.sock`: where `dfs up` listens and `dfs cluster` connects.
    public static func path(inDataDirectory dataDirectory: String) -> String {
        (dataDirectory as NSString).appendingPathComponent("control.sock")
    }

    public let path: String
    private let channel: NIOAsyncChannel<NIOAsyncChannel<ByteBuffer, ByteBuffer>, Never>
    private let controller: ClusterController
    /// How long a client may take to send its request line; the action itself may take longer (a start waits
    /// for the member's health).
    private let requestTimeout: TimeAmount

    /// The longest request line taken; anything longer is not a request.
    static let maximumRequestBytes = 1024

    private init(
        path: String, channel: NIOAsyncChannel<NIOAsyncChannel<ByteBuffer, ByteBuffer>, Never>, controller: ClusterController,
        requestTimeout: TimeAmount
    ) {
        self.path = path
        self.channel = channel
        self.controller = controller
        self.requestTimeout = requestTimeout
    }

    /// Listens on `path`, replacing a socket file left by a `dfs up` that ended.
    ///
    /// Call it before any child is started: the process's umask is narrowed while the socket file is
    /// created, so it is never open to others, not even for a moment.
    /// - Throws: `ClusterControlServerError.inUse` when another `dfs up` answers there, `.pathTooLong`, or
    ///   the bind's own error.
    public static func open(
        at path: String, controller: ClusterController, requestTimeout: Duration = .seconds(10)
    ) async throws -> ClusterControlServer {
        guard path.utf8.count < MemoryLayout.size(ofValue: sockaddr_un().sun_path) else {
            throw ClusterControlServerError.pathTooLong(path: path)
        }
        if FileManager.default.fileExists(atPath: path), ClusterControlClient.isAnswering(at: path) {
            throw ClusterControlServerError.inUse(path: path)
        }
        let previousMask = umask(0o077)
        defer { umask(previousMask) }
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true) { child in
                child.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: child)
                }
            }
        chmod(path, 0o600)
        return ClusterControlServer(
            path: path, channel: channel, controller: controller,
            requestTimeout: .nanoseconds(Int64(requestTimeout / .nanoseconds(1)))
        )
    }

    /// Serves connections, each in its own task, until the calling task is cancelled.
    public func run() async {
        let channel = self.channel
        let controller = self.controller
        let requestTimeout = self.requestTimeout
        await withTaskCancellationHandler {
            try? await channel.executeThenClose { connections in
                await withDiscardingTaskGroup { group in
                    do {
                        for try await connection in connections {
                            group.addTask { await Self.serve(connection, with: controller, requestTimeout: requestTimeout) }
                        }
                    } catch {
                        // The listening socket closed (cancellation): the connections in flight still finish.
                    }
                }
            }
        } onCancel: {
            channel.channel.close(promise: nil)
        }
    }

    /// Removes the socket file, so `dfs cluster` says no `dfs up` runs rather than finding a dead socket.
    public func removeSocketFile() {
        channel.channel.close(promise: nil)
        unlink(path)
    }

    private static func serve(
        _ connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>, with controller: ClusterController, requestTimeout: TimeAmount
    ) async {
        // A client that connects and sends nothing must not hold its connection for ever.
        let channel = connection.channel
        let watchdog = channel.eventLoop.scheduleTask(in: requestTimeout) { channel.close(promise: nil) }
        try? await connection.executeThenClose { inbound, outbound in
            var request = ByteBuffer()
            for try await var chunk in inbound {
                request.writeBuffer(&chunk)
                if request.readableBytesView.contains(UInt8(ascii: "\n")) || request.readableBytes > maximumRequestBytes { break }
            }
            watchdog.cancel()
            guard request.readableBytes > 0 else { return }
            let bytes = request.readableBytesView.prefix { $0 != UInt8(ascii: "\n") }.prefix(maximumRequestBytes)
            let reply = await controller.handle(line: String(decoding: bytes, as: UTF8.self))
            var encoded = try JSONEncoder().encode(reply)
            encoded.append(UInt8(ascii: "\n"))
            try await outbound.write(ByteBuffer(bytes: encoded))
        }
    }
}

/// Why `dfs up` could not open its control socket.
public enum ClusterControlServerError: Error, Sendable, CustomStringConvertible {
    case inUse(path: String)
    case pathTooLong(path: String)

    public var description: String {
        switch self {
        case .inUse(let path):
            return
                "another `dfs up` is running with this data folder (it answers on \(path)); stop it first or choose another --data"
        case .pathTooLong(let path):
            return "\(path) is too long for a Unix socket path; a shorter --data folder would allow `dfs cluster` commands"
        }
    }
}
