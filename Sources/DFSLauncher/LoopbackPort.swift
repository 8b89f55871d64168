import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Checks and picks TCP ports on a local IPv4 address by binding a throwaway socket.
public enum LoopbackPort {
    /// Whether a server could listen on `host:port` now.
    ///
    /// `SO_REUSEADDR` is set as the servers set it, so a port that only has connections in TIME_WAIT (a node
    /// that just stopped) counts as free, while one with a listener does not.
    public static func isAvailable(_ port: Int, host: String = "127.0.0.1") -> Bool {
        guard let socket = boundSocket(port: port, host: host) else { return false }
        close(socket.descriptor)
        return true
    }

    /// `count` distinct ports free now, chosen at random below the kernel's ephemeral range, never one this
    /// process was handed before.
    ///
    /// Port 0 would hand out ephemeral ports, the very range outgoing connections take their local ports
    /// from: under parallel tests a client connection grabbed such a port between our pick and the server's
    /// bind. Ports below the range are only ever taken by listeners. Remembering what was handed out matters
    /// because a caller's port is free again while its server is stopped for a restart: a parallel test
    /// picking it then took it away from the restarted server.
    public static func free(count: Int, host: String = "127.0.0.1") -> [Int] {
        var sockets: [(descriptor: Int32, port: Int)] = []
        defer { sockets.forEach { close($0.descriptor) } }
        let candidates = 10_000..<max(10_001, ephemeralRangeStart())
        var attempts = 0
        while sockets.count < count && attempts < 10_000 {
            attempts += 1
            let port = Int.random(in: candidates)
            guard !sockets.contains(where: { $0.port == port }), !handedOut.contains(port),
                let socket = boundSocket(port: port, host: host)
            else { continue }
            sockets.append(socket)
        }
        // Fall back to the kernel's choice only if the low range is exhausted.
        while sockets.count < count, let socket = boundSocket(port: 0, host: host) {
            sockets.append(socket)
        }
        let ports = sockets.map(\.port)
        handedOut.insert(ports)
        return ports
    }

    private static let handedOut = HandedOutPorts()

    /// The first port of `net.ipv4.ip_local_port_range` (32768 when it cannot be read).
    static func ephemeralRangeStart() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8),
            let first = text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).first, let low = Int(first)
        else { return 32768 }
        return low
    }

    /// `count` consecutive free ports (for `dfs up --node-port B`, whose nodes take B, B+1, …), or nil.
    public static func freeRange(count: Int, host: String = "127.0.0.1", attempts: Int = 64) -> ClosedRange<Int>? {
        for _ in 0..<attempts {
            guard let first = free(count: 1, host: host).first, first + count - 1 <= 65535 else { continue }
            let range = first...(first + count - 1)
            if range.allSatisfy({ isAvailable($0, host: host) && ($0 == first || !handedOut.contains($0)) }) {
                handedOut.insert(Array(range))
                return range
            }
        }
        return nil
    }

    private static func boundSocket(port: Int, host: String) -> (descriptor: Int32, port: Int)? {
        #if canImport(Darwin)
            let descriptor = socket(AF_INET, SOCK_STREAM, 0)
        #else
            let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #endif
        guard descriptor >= 0 else { return nil }
        var reuse: Int32 = 1
        setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &reuse, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(truncatingIfNeeded: port)).bigEndian
        let numericHost = host == "localhost" ? "127.0.0.1" : host
        guard inet_pton(AF_INET, numericHost, &address.sin_addr) == 1 else {
            close(descriptor)
            return nil
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 && listen(descriptor, 1) == 0
            }
        }
        guard bound else {
            close(descriptor)
            return nil
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) == 0 }
        }
        guard named else {
            close(descriptor)
            return nil
        }
        return (descriptor, Int(UInt16(bigEndian: address.sin_port)))
    }
}

/// The ports `LoopbackPort` has handed out in this process, shared by every caller (tests run in parallel).
private final class HandedOutPorts: @unchecked Sendable {
    private let lock = NSLock()
    private var ports: Set<Int> = []

    func contains(_ port: Int) -> Bool {
        lock.withLock { ports.contains(port) }
    }

    func insert(_ newPorts: [Int]) {
        lock.withLock { ports.formUnion(newPorts) }
    }
}
