import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// An HTTP/1.1 server Service that answers `Expect: 100-continue` when the handler starts reading the body.
///
/// curl sends `Expect: 100-continue` for bodies over 1 MiB and waits 1 s for the interim answer;
/// Hummingbird 2.28's `Application` never sends it, so every large curl upload would stall. This builds
/// the server the way `ApplicationProtocol.run()` does, and writes the `100` head on the body's first read
///: a request refused before that (401, 403, 405, a size that cannot fit) gets its final answer
/// at once, marked `Connection: close`, and the client never sends a body nobody would read.
public struct ContinueAwareHTTPServer<Responder: HTTPResponder>: Service
where Responder.Context: InitializableFromSource<ApplicationRequestContextSource> {
    let responder: Responder
    let host: String
    let port: Int
    let serverName: String
    let limits: ConnectionLimits
    /// nil serves plain HTTP; else HTTPS with whatever pair the certificate holds when a handshake starts.
    let certificate: ServerCertificate?
    let logger: Logger
    let onServerRunning: @Sendable (Int) async -> Void

    public init(
        responder: Responder,
        host: String,
        port: Int,
        serverName: String,
        limits: ConnectionLimits = .defaults,
        certificate: ServerCertificate? = nil,
        logger: Logger,
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) {
        self.responder = responder
        self.host = host
        self.port = port
        self.serverName = serverName
        self.limits = limits
        self.certificate = certificate
        self.logger = logger
        self.onServerRunning = onServerRunning
    }

    public func run() async throws {
        let responder = self.responder
        let logger = self.logger
        let headTimeout = limits.requestHeadTimeout
        let channel = HTTP1Channel.Configuration(
            additionalChannelHandlers: [RequestHeadDeadline(timeout: headTimeout)], idleTimeout: TimeAmount(limits.idleTimeout))
        // Over TLS the head deadline also covers the handshake: a client that opens a socket and never completes
        // one is closed on the same schedule as one that never finishes its head.
        let builder: HTTPServerBuilder =
            if let certificate {
                try .tls(.http1(configuration: channel), tlsConfiguration: certificate.serverConfiguration())
            } else {
                .http1(configuration: channel)
            }
        let server = try builder.buildServer(
            configuration: ServerConfiguration(
                address: .hostname(host, port: port), serverName: serverName,
                availableConnectionsDelegate: MaximumAvailableConnections(limits.maxConnections)),
            eventLoopGroup: MultiThreadedEventLoopGroup.singleton,
            logger: logger
        ) { (request, responseWriter: consuming ResponseWriter, channel) in
            var request = request
            var continueGate: ContinueOnFirstRead?
            if let expect = request.headers[.expect], expect.lowercased() == "100-continue" {
                let gate = ContinueOnFirstRead(channel: channel)
                request.body = RequestBody(asyncSequence: gate.gating(request.body))
                continueGate = gate
            }
            let requestID = RequestIdentifier.accepting(request.headers[HTTPField.Name("x-request-id")!])
            var requestLogger = logger
            requestLogger[metadataKey: "request_id"] = .string(requestID)
            let context = Responder.Context(source: .init(channel: channel, logger: requestLogger))
            var response: Response
            do {
                response = try await responder.respond(to: request, context: context)
            } catch {
                requestLogger.error("unhandled error escaped the router", metadata: ["error": "\(error)"])
                response = Response(
                    status: .internalServerError,
                    headers: [.contentType: "application/json"],
                    body: .init(byteBuffer: ByteBuffer(string: #"{"error":"internal_error","message":"internal server error"}"#))
                )
            }
            if let continueGate, !continueGate.wasSent {
                // The client holds the body back until a 100 that will not come: say this connection ends here.
                response.headers[.connection] = "close"
            }
            response.headers[.server] = serverName
            response.headers[values: HTTPField.Name("x-request-id")!] = [requestID]
            try await responseWriter.write(response: response.head, body: response.body)
        } onServerRunning: { channel in
            await onServerRunning(channel.localAddress?.port ?? 0)
        }
        try await server.run()
    }
}

/// Writes `100 Continue` once, when the handler first asks for a body chunk.
final class ContinueOnFirstRead: Sendable {
    private let channel: any Channel
    private let sent = Atomic<Bool>(false)

    init(channel: any Channel) { self.channel = channel }

    var wasSent: Bool { sent.load(ordering: .acquiring) }

    func gating(_ body: RequestBody) -> Body { Body(base: body, gate: self) }

    fileprivate func sendOnce() async throws {
        guard !sent.exchange(true, ordering: .acquiringAndReleasing) else { return }
        // The response writer is the handler's alone; the interim head goes down the same pipeline before any final one.
        try await channel.writeAndFlush(ResponsePart.head(HTTPResponse(status: .continue)))
    }

    /// NIOHTTPTypes' `HTTPResponsePart`, what the server pipeline writes, named through HummingbirdCore (which
    /// re-exports no NIOHTTPTypes) rather than by depending on swift-nio-extras for one type name.
    private typealias ResponsePart = HTTPConnectionStateHandler.OutboundOut

    struct Body: AsyncSequence, Sendable {
        typealias Element = ByteBuffer
        let base: RequestBody
        let gate: ContinueOnFirstRead

        func makeAsyncIterator() -> Iterator { Iterator(base: base.makeAsyncIterator(), gate: gate) }

        struct Iterator: AsyncIteratorProtocol {
            var base: RequestBody.AsyncIterator
            let gate: ContinueOnFirstRead
            var asked = false

            mutating func next() async throws -> ByteBuffer? {
                if !asked {
                    asked = true
                    try await gate.sendOnce()
                }
                return try await base.next()
            }
        }
    }
}

/// Short, unique-per-process request ids for logs and the `x-request-id` header.
public enum RequestIdentifier {
    private static let counter = ManagedAtomicCounter()
    private static let prefix = String(UInt32.random(in: 0...UInt32.max), radix: 36)

    public static func next() -> String { "\(prefix)-\(counter.increment())" }

    /// The client's own id when it is short and safe to log and echo (letters, digits, `-_.:`, at most 64),
    /// so a request can be followed across systems; otherwise a fresh one.
    public static func accepting(_ supplied: String?) -> String {
        guard let supplied, isAcceptable(supplied) else { return next() }
        return supplied
    }

    public static func isAcceptable(_ candidate: String) -> Bool {
        (1...64).contains(candidate.utf8.count)
            && candidate.utf8.allSatisfy { byte in
                (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                    || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".")
                    || byte == UInt8(ascii: ":")
            }
    }
}

import Synchronization

final class ManagedAtomicCounter: Sendable {
    private let value = Atomic<Int>(0)
    func increment() -> Int { value.add(1, ordering: .relaxed).newValue }
}
