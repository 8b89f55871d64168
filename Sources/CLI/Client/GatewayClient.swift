import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// The gateway's public API as the CLI uses it. Every call has a time limit: small calls a
/// deadline, transfers an idle limit (no byte moved for that long ends them).
struct GatewayClient {
    let baseURL: String
    let timeout: Duration
    /// Sent as a bearer token on every call when the gateway has API keys.
    var apiKey: String? = nil
    private let httpClient: HTTPClient

    /// A gateway answer read whole: small JSON documents only, never file bodies.
    struct Reply {
        let status: Int
        let body: ByteBuffer

        func json() throws -> JSONValue {
            do {
                return try JSONValue.parse(body.readableBytesView)
            } catch {
                throw GatewayError.invalidAnswer("expected JSON, got \(String(buffer: body).prefix(120))")
            }
        }
    }

    /// Runs `body` with a client for `options`, and shuts the client down on every path out.
    static func with<Result>(
        _ options: GatewayOptions,
        defaultTimeout: Duration = .seconds(30),
        _ body: (GatewayClient) async throws -> Result
    ) async throws -> Result {
        let timeout = try options.requestTimeout(default: defaultTimeout)
        var configuration = HTTPClient.Configuration()
        // `read` and `write` bound the pauses of a transfer; a deadline bounds each call until its answer.
        configuration.timeout = .init(connect: .seconds(5), read: .init(timeout))
        configuration.timeout.write = .init(timeout)
        configuration.decompression = .disabled
        configuration.tlsConfiguration = options.trustRoots.clientConfiguration
        // One gateway, one person waiting: a refused connection should say so now, not after the connect
        // timeout's worth of retries.
        configuration.connectionPool.retryConnectionEstablishment = false
        let httpClient = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        let client = GatewayClient(
            baseURL: options.gatewayURL, timeout: timeout, apiKey: options.effectiveAPIKey, httpClient: httpClient)
        do {
            let result = try await body(client)
            try? await httpClient.shutdown()
            return result
        } catch {
            try? await httpClient.shutdown()
            throw error
        }
    }

    /// Sends a small request and reads the whole answer; any non-2xx becomes `GatewayError.rejected`.
    func call(_ method: HTTPMethod, _ pathAndQuery: String) async throws -> Reply {
        var request = HTTPClientRequest(url: baseURL + pathAndQuery)
        request.method = method
        let response = try await execute(request, deadline: .now() + .init(timeout), duringTransfer: false)
        let body = try await readSmallBody(response)
        guard (200..<300).contains(response.status.code) else {
            throw Self.rejection(status: Int(response.status.code), body: body)
        }
        return Reply(status: Int(response.status.code), body: body)
    }

    /// Starts a request whose body or answer is a file: only idle limits apply once bytes flow.
    func transfer(_ request: HTTPClientRequest) async throws -> HTTPClientResponse {
        // The idle timeouts catch a stalled transfer; this outer deadline only stops one that trickles forever.
        try await execute(request, deadline: .now() + .hours(24), duringTransfer: true)
    }

    /// Reads a small answer to a transfer: the JSON of a 2xx, else the gateway's error.
    func reply(from response: HTTPClientResponse) async throws -> Reply {
        let body = try await readSmallBody(response)
        guard (200..<300).contains(response.status.code) else {
            throw Self.rejection(status: Int(response.status.code), body: body)
        }
        return Reply(status: Int(response.status.code), body: body)
    }

    /// Reads an error answer (the body of a non-2xx response) into `GatewayError.rejected`.
    func rejection(from response: HTTPClientResponse) async throws -> GatewayError {
        Self.rejection(status: Int(response.status.code), body: try await readSmallBody(response))
    }

    /// Maps errors thrown while a response body streams (idle timeout, reset) into sentences.
    func describeTransferFailure(_ error: any Error) -> any Error {
        GatewayError.from(error, gateway: baseURL, timeout: timeout, duringTransfer: true)
    }

    // MARK: - plumbing

    private func execute(
        _ request: HTTPClientRequest, deadline: NIODeadline, duringTransfer: Bool
    ) async throws -> HTTPClientResponse {
        var request = request
        if let apiKey { request.headers.replaceOrAdd(name: "Authorization", value: "Bearer \(apiKey)") }
        do {
            return try await httpClient.execute(request, deadline: deadline)
        } catch {
            throw GatewayError.from(error, gateway: baseURL, timeout: timeout, duringTransfer: duringTransfer)
        }
    }

    private func readSmallBody(_ response: HTTPClientResponse) async throws -> ByteBuffer {
        do {
            return try await response.body.collect(upTo: 64 << 20)
        } catch {
            throw GatewayError.from(error, gateway: baseURL, timeout: timeout, duringTransfer: false)
        }
    }

    /// The gateway's `{"error", "message"}`, or the start of whatever else it sent.
    private static func rejection(status: Int, body: ByteBuffer) -> GatewayError {
        let document = try? JSONValue.parse(body.readableBytesView)
        let code = document?["error"]?.text
        let text = String(buffer: body).trimmingCharacters(in: .whitespacesAndNewlines)
        let message = document?["message"]?.text ?? (text.isEmpty ? "the gateway refused the request" : String(text.prefix(300)))
        return .rejected(status: status, code: code, message: message)
    }
}

extension GatewayClient {
    /// Percent-encodes one path segment or query value (a file key is already safe; a filename may not be).
    static func encode(_ component: String) -> String {
        // ASCII only: `CharacterSet.alphanumerics` would let `é` through unencoded.
        let allowed = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
        return component.addingPercentEncoding(withAllowedCharacters: allowed) ?? component
    }
}
