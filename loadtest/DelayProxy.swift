import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A loopback TCP proxy that delays every byte by a fixed time in each direction, like a network link with
/// that one-way latency: chunks are stamped on arrival and forwarded once their time has come, so throughput
/// is not capped, only latency added. It lets latency routing be measured on one machine, without root or
/// kernel netem (`--delay node-2=50ms`).
///
/// It can also stall a random share of responses (`--stall node-2=200ms@10%`). The gateway keeps keep-alive
/// connections to its nodes, so the stall is decided per request, not per connection: the first bytes the
/// node sends after the client has sent anything new (a request) are the start of a response, and those are
/// held back by the stall, with everything behind them.
///
/// Blocking sockets, a reader and a writer thread per direction: the proxy only carries benchmark traffic.
final class DelayProxy: @unchecked Sendable {
    // @unchecked: `listener` is fixed after init; `isStopped` is guarded by `lock`; the counters are atomic.
    let port: Int
    let impairment: LinkImpairment
    private let upstreamPort: Int
    private let listener: Int32
    private let lock = NSLock()
    private var isStopped = false
    private let responseCount = Atomic<Int>(0)
    private let stalledResponseCount = Atomic<Int>(0)

    /// Responses that began through this proxy, and how many of them were stalled.
    var responses: (total: Int, stalled: Int) { (responseCount.load(ordering: .relaxed), stalledResponseCount.load(ordering: .relaxed)) }

    init(upstreamPort: Int, impairment: LinkImpairment) throws {
        self.upstreamPort = upstreamPort
        self.impairment = impairment
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.listener = listener
        var yes: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = loopback(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let listening = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, length) == 0 && listen(listener, 128) == 0 && getsockname(listener, $0, &length) == 0
            }
        }
        guard listening else { throw DelayProxyError(reason: "cannot listen on loopback: errno \(errno)") }
        port = Int(UInt16(bigEndian: address.sin_port))
        Thread { [self] in acceptLoop() }.start()
    }

    func stop() {
        lock.withLock { isStopped = true }
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    private func acceptLoop() {
        while !lock.withLock({ isStopped }) {
            let client = accept(listener, nil, nil)
            if client < 0 { return }
            let upstream = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = loopback(port: upstreamPort)
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(upstream, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard connected == 0 else {
                close(client)
                close(upstream)
                continue
            }
            let boundary = ResponseBoundary()
            let requests = DelayedLine(delay: impairment.oneWayDelay) {
                boundary.requestBytesArrived()
                return .zero
            }
            let responses = DelayedLine(delay: impairment.oneWayDelay) { [self] in
                guard boundary.isResponseStart() else { return .zero }
                responseCount.add(1, ordering: .relaxed)
                guard impairment.stallProbability > 0, Double.random(in: 0..<1) < impairment.stallProbability else { return .zero }
                stalledResponseCount.add(1, ordering: .relaxed)
                return impairment.stall
            }
            for (line, source, destination) in [(requests, client, upstream), (responses, upstream, client)] {
                Thread { line.read(from: source) }.start()
                Thread { line.write(to: destination) }.start()
            }
        }
    }
}

struct DelayProxyError: Error, CustomStringConvertible {
    let reason: String
    var description: String { "delay proxy: \(reason)" }
}

/// Tells, on one proxied connection, which node bytes start a response: the first after new request bytes.
private final class ResponseBoundary: Sendable {
    private let hasUnansweredRequest = Atomic<Bool>(false)

    func requestBytesArrived() { hasUnansweredRequest.store(true, ordering: .relaxed) }

    func isResponseStart() -> Bool { hasUnansweredRequest.exchange(false, ordering: .relaxed) }
}

/// One direction of a proxied connection: chunks wait in a queue until `delay` after they arrived, plus
/// whatever extra hold-back `extraDelay` decides for that chunk (a stall).
private final class DelayedLine: @unchecked Sendable {
    // @unchecked: `queue` and `ended` are guarded by `condition`; `extraDelay` is called on the reader thread only.
    private let delay: Duration
    private let extraDelay: @Sendable () -> Duration
    private let condition = NSCondition()
    private var queue: [(due: ContinuousClock.Instant, bytes: [UInt8])] = []
    private var ended = false

    init(delay: Duration, extraDelay: @escaping @Sendable () -> Duration) {
        self.delay = delay
        self.extraDelay = extraDelay
    }

    func read(from source: Int32) {
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let count = Glibc.read(source, &buffer, buffer.count)
            if count <= 0 { break }
            let chunk = Array(buffer[0..<count])
            // Chunks leave in arrival order, so a stalled chunk also holds back every chunk behind it.
            let due = ContinuousClock.now + delay + extraDelay()
            condition.withLock {
                queue.append((due, chunk))
                condition.signal()
            }
        }
        condition.withLock {
            ended = true
            condition.signal()
        }
    }

    func write(to destination: Int32) {
        while true {
            let next: (due: ContinuousClock.Instant, bytes: [UInt8])? = condition.withLock {
                while queue.isEmpty && !ended { condition.wait() }
                return queue.isEmpty ? nil : queue.removeFirst()
            }
            guard let next else { break }
            let wait = next.due - ContinuousClock.now
            if wait > .zero { Thread.sleep(forTimeInterval: Double(wait.components.seconds) + Double(wait.components.attoseconds) / 1e18) }
            var written = 0
            while written < next.bytes.count {
                let result = next.bytes.withUnsafeBytes { Glibc.write(destination, $0.baseAddress! + written, next.bytes.count - written) }
                if result <= 0 {
                    shutdown(destination, Int32(SHUT_RDWR))
                    return
                }
                written += result
            }
        }
        shutdown(destination, Int32(SHUT_WR))
    }
}

private func loopback(port: Int) -> sockaddr_in {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = UInt16(port).bigEndian
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    return address
}
