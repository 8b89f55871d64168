import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// Small HTTP calls for integration tests, against a gateway or a node; each has a deadline.
public struct HTTPTestClient: Sendable {
    public let baseURL: String
    public var timeout: Duration
    /// Sent with every request before the call's own headers (the cluster secret, an API key).
    public var defaultHeaders: [(String, String)]
    /// The client that sends the calls: the shared one, or one that trusts a test cluster's CA.
    public var client: HTTPClient

    public init(
        baseURL: String, timeout: Duration = .seconds(30), defaultHeaders: [(String, String)] = [],
        client: HTTPClient = .shared
    ) {
        self.baseURL = baseURL
        self.timeout = timeout
        self.defaultHeaders = defaultHeaders
        self.client = client
    }

    /// The same client, sending `Authorization: Bearer <key>` on every request.
    public func withAPIKey(_ key: String) -> HTTPTestClient {
        HTTPTestClient(
            baseURL: baseURL, timeout: timeout, defaultHeaders: defaultHeaders + [("Authorization", "Bearer \(key)")],
            client: client)
    }

    public func get(_ path: String, headers: [(String, String)] = []) async throws -> TestResponse {
        try await send(.GET, path, headers: headers)
    }

    /// GET, expecting a 2xx, decoded as `T`.
    public func getJSON<T: Decodable>(_ path: String, as type: T.Type = T.self) async throws -> T {
        try await get(path).expectingSuccess().json(T.self)
    }

    public func post(_ path: String, body: [UInt8] = [], headers: [(String, String)] = []) async throws -> TestResponse {
        try await send(.POST, path, body: body, headers: headers)
    }

    public func delete(_ path: String, headers: [(String, String)] = []) async throws -> TestResponse {
        try await send(.DELETE, path, headers: headers)
    }

    /// `POST /upload?filename=` with a raw body, plus any headers such as `X-Checksum-SHA256`.
    public func uploadRaw(_ bytes: [UInt8], filename: String, headers: [(String, String)] = []) async throws -> TestResponse {
        let query = filename.addingPercentEncoding(withAllowedCharacters: .urlQueryValueAllowed) ?? filename
        return try await send(
            .POST, "/upload?filename=" + query, body: bytes,
            headers: [("Content-Type", "application/octet-stream")] + headers
        )
    }

    /// `POST /upload` as `multipart/form-data` with the bytes in field `file` (the prototype's form).
    public func uploadMultipart(_ bytes: [UInt8], filename: String, headers: [(String, String)] = []) async throws -> TestResponse
    {
        let boundary = "dfs-test-\(UInt64.random(in: 0...UInt64.max))"
        var body = Array(
            "--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"\(filename)\"\r\nContent-Type: application/octet-stream\r\n\r\n"
                .utf8)
        body += bytes
        body += Array("\r\n--\(boundary)--\r\n".utf8)
        return try await send(
            .POST, "/upload", body: body,
            headers: [("Content-Type", "multipart/form-data; boundary=\(boundary)")] + headers
        )
    }

    /// `GET /download/{file_key}`; the bytes are in `body`.
    public func download(_ fileKey: String, headers: [(String, String)] = []) async throws -> TestResponse {
        try await get("/download/" + fileKey, headers: headers)
    }

    /// Any method; the whole answer (up to 1 GiB) is read into memory.
    public func send(
        _ method: HTTPMethod,
        _ path: String,
        body: [UInt8]? = nil,
        headers: [(String, String)] = []
    ) async throws -> TestResponse {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        for (name, value) in defaultHeaders + headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        let response = try await client.execute(request, timeout: .init(timeout))
        let buffer = try await response.body.collect(upTo: 1 << 30)
        return TestResponse(
            status: Int(response.status.code),
            headers: response.headers.map { ($0.name, $0.value) },
            body: Array(buffer.readableBytesView)
        )
    }
}

extension CharacterSet {
    /// Unreserved characters only, so `&`, `=`, `+` and spaces in a filename survive a query string.
    static let urlQueryValueAllowed = CharacterSet(
        charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
}
