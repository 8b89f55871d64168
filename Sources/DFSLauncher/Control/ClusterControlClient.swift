#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif
import Dispatch
import Foundation

/// The `dfs cluster` side of the control socket: connect, send one request line, read one reply line.
///
/// Blocking on purpose: `dfs cluster` does one request and exits, and the socket's own send and receive
/// time limits bound every call.
public enum ClusterControlClient {
    /// Sends `request` to the `dfs up` listening on `path` and returns its reply.
    /// - Throws: `ClusterControlClientError` (no `dfs up` there, a stale socket, no answer in time…).
    public static func send(_ request: ClusterControlRequest, to path: String, timeout: Duration) throws -> ClusterControlReply {
        let descriptor = try connect(to: path, timeout: timeout)
        defer { close(descriptor) }
        let line = Array((request.line + "\n").utf8)
        var sent = 0
        while sent < line.count {
            let written = line[sent...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { throw failure(errno, path: path, timeout: timeout) }
            sent += written
        }
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while !received.contains(UInt8(ascii: "\n")) {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count < 0 { throw failure(errno, path: path, timeout: timeout) }
            if count == 0 { break }
            received += chunk[..<count]
            guard received.count <= 1 << 20 else { throw ClusterControlClientError.unreadableReply("longer than 1 MiB") }
        }
        let replyLine = received.split(separator: UInt8(ascii: "\n")).first ?? []
        guard !replyLine.isEmpty else { throw ClusterControlClientError.noReply(path: path) }
        do {
            return try JSONDecoder().decode(ClusterControlReply.self, from: Data(replyLine))
        } catch {
            throw ClusterControlClientError.unreadableReply("\(error)")
        }
    }

    /// `send` for async code: the blocking call runs on a Dispatch thread, never on the cooperative pool
    /// (where it could starve the very `dfs up` it waits for, when both run in one process, as in tests).
    public static func request(
        _ request: ClusterControlRequest, to path: String, timeout: Duration
    ) async throws -> ClusterControlReply {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try send(request, to: path, timeout: timeout) })
            }
        }
    }

    /// Whether a `dfs up` answers on `path` now (a socket file nobody listens on does not).
    public static func isAnswering(at path: String) -> Bool {
        guard let descriptor = try? connect(to: path, timeout: .seconds(2)) else { return false }
        close(descriptor)
        return true
    }

    private static func connect(to path: String, timeout: Duration) throws -> Int32 {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard pathBytes.count < capacity else { throw ClusterControlClientError.pathTooLong(path: path, limit: capacity - 1) }
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            buffer.copyBytes(from: pathBytes)
            buffer[pathBytes.count] = 0
        }
        #if canImport(Darwin)
            let descriptor = socket(AF_UNIX, SOCK_STREAM, 0)
        #else
            let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        #endif
        guard descriptor >= 0 else { throw failure(errno, path: path, timeout: timeout) }
        var limit = timeval(
            tv_sec: Int(timeout.components.seconds), tv_usec: Int(timeout.components.attoseconds / 1_000_000_000_000))
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                systemConnect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard connected == 0 else {
            let code = errno
            close(descriptor)
            throw failure(code, path: path, timeout: timeout)
        }
        return descriptor
    }

    private static func failure(_ code: Int32, path: String, timeout: Duration) -> ClusterControlClientError {
        switch code {
        case ENOENT: return .noSocket(path: path)
        case ECONNREFUSED: return .staleSocket(path: path)
        case EAGAIN, ETIMEDOUT: return .timedOut(path: path, after: timeout)
        case EACCES, EPERM: return .permissionDenied(path: path)
        default: return .failed(path: path, reason: String(cString: strerror(code)))
        }
    }
}

#if canImport(Darwin)
    private let systemConnect = Darwin.connect
#elseif canImport(Musl)
    private let systemConnect = Musl.connect
#else
    private let systemConnect = Glibc.connect
#endif

/// Why `dfs cluster` got no answer from a `dfs up`, phrased for the person at the terminal.
public enum ClusterControlClientError: Error, Sendable, Equatable, CustomStringConvertible {
    case noSocket(path: String)
    case staleSocket(path: String)
    case timedOut(path: String, after: Duration)
    case permissionDenied(path: String)
    case pathTooLong(path: String, limit: Int)
    case noReply(path: String)
    case unreadableReply(String)
    case failed(path: String, reason: String)

    public var description: String {
        switch self {
        case .noSocket(let path):
            return "no running `dfs up` found: \(path) does not exist. Start one with `dfs up`, or point --data "
                + "(or DFS_DATA) at the data folder of the one that runs."
        case .staleSocket(let path):
            return "no `dfs up` answers on \(path) (it is left over from one that ended). Start one with `dfs up`."
        case .timedOut(let path, let after):
            return "the `dfs up` on \(path) did not answer within \(after); raise --timeout if a member is slow to start"
        case .permissionDenied(let path):
            return "permission denied on \(path): only the user who runs that `dfs up` may control it"
        case .pathTooLong(let path, let limit):
            return "\(path) is longer than a socket path may be (\(limit) bytes); use a shorter --data folder"
        case .noReply(let path):
            return "the `dfs up` on \(path) closed the connection without an answer"
        case .unreadableReply(let reason):
            return "the answer of `dfs up` could not be read: \(reason)"
        case .failed(let path, let reason):
            return "cannot talk to the `dfs up` on \(path): \(reason)"
        }
    }
}
