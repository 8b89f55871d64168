import AsyncHTTPClient
import DFSCore
import Foundation
import NIOCore
import NIOHTTP1

/// `NodeClient` over HTTP/1.1 with AsyncHTTPClient; every call has a deadline.
public struct HTTPNodeClient: NodeClient {
    /// Deadlines: `control` bounds small calls (health, delete, inventory); transfers are bounded by
    /// `transferIdle` (no byte for that long fails the call, via the client's read timeout) and a floor
    /// rate so a slowly trickling transfer still ends.
    public struct Timeouts: Sendable {
        public var control: Duration
        public var transferIdle: Duration
        public var minimumTransferBytesPerSecond: Int64
        /// Sent with a put that names targets: the primary abandons a target idle for this long (nil: the node's
        /// own replication timeout).
        public var replicaIdleLimit: Duration?

        public init(
            control: Duration = .seconds(5), transferIdle: Duration = .seconds(30),
            minimumTransferBytesPerSecond: Int64 = 1 << 20,
            replicaIdleLimit: Duration? = nil
        ) {
            self.control = control
            self.transferIdle = transferIdle
            self.minimumTransferBytesPerSecond = minimumTransferBytesPerSecond
            self.replicaIdleLimit = replicaIdleLimit
        }

        func transferDeadline(bytes: Int64?) -> NIODeadline {
            let floorSeconds = Int64(60) + (bytes ?? (4 << 30)) / max(1, minimumTransferBytesPerSecond)
            return .now() + .seconds(floorSeconds)
        }
    }

    public let httpClient: HTTPClient
    public let timeouts: Timeouts
    /// Sent with every call (`x-dfs-cluster-secret`); nodes started with a secret answer 401 without it.
    public let clusterSecret: ClusterSecret?

    public init(httpClient: HTTPClient, timeouts: Timeouts = Timeouts(), clusterSecret: ClusterSecret? = nil) {
        self.httpClient = httpClient
        self.timeouts = timeouts
        self.clusterSecret = clusterSecret
    }

    /// A client configured for node traffic: short connect timeout, idle read timeout, large pool.
    /// - Parameter trustRoots: the CA that https:// nodes (and the gateway) must be signed by.
    public static func makeHTTPClient(
        connectTimeout: Duration, idleTimeout: Duration, trustRoots: TrustRoots = .system
    ) -> HTTPClient {
        var configuration = HTTPClient.Configuration()
        configuration.tlsConfiguration = trustRoots.clientConfiguration
        configuration.timeout = .init(connect: .init(connectTimeout), read: .init(idleTimeout))
        configuration.httpVersion = .http1Only
        configuration.decompression = .disabled
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 64)
        // By default a refused connection is retried until the connect timeout: a down node would stall every
        // request for that long instead of failing over at once.
        configuration.connectionPool.retryConnectionEstablishment = false
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    public func health(of node: NodeEndpoint, timeout: Duration) async throws -> NodeHealth {
        let response = try await send(
            HTTPClientRequest(url: node.baseURL + "/health"), to: node, deadline: .now() + .init(timeout))
        return try await decodeJSON(NodeHealth.self, from: response, node: node, limit: 64 << 10)
    }

    public func putBlob(
        _ key: FileKey,
        on node: NodeEndpoint,
        body: AnyByteStream,
        length: Int64?,
        replicateTo targets: [NodeEndpoint],
        expectedDigest: SHA256Digest?,
        expectedBlockRoot: SHA256Digest?
    ) async throws -> BlobPutResult {
        var request = HTTPClientRequest(url: node.baseURL + NodeProtocol.blobPath(key))
        request.method = .PUT
        request.headers.add(name: "content-type", value: "application/octet-stream")
        if !targets.isEmpty {
            request.headers.add(name: NodeProtocol.replicateToHeader, value: NodeProtocol.encodeTargets(targets))
            if let limit = timeouts.replicaIdleLimit {
                let milliseconds = limit.components.seconds * 1000 + limit.components.attoseconds / 1_000_000_000_000_000
                request.headers.add(name: NodeProtocol.replicaIdleLimitHeader, value: String(max(1, milliseconds)))
            }
        }
        if let expectedDigest {
            request.headers.add(name: NodeProtocol.expectedDigestHeader, value: expectedDigest.hex)
        }
        if let expectedBlockRoot {
            request.headers.add(name: NodeProtocol.expectedBlockRootHeader, value: expectedBlockRoot.hex)
        }
        request.body = .stream(body, length: length.map { .known($0) } ?? .unknown)
        let response = try await send(request, to: node, deadline: timeouts.transferDeadline(bytes: length))
        return try await decodeJSON(BlobPutResult.self, from: response, node: node, limit: 1 << 20)
    }

    public func getBlob(
        _ key: FileKey, from node: NodeEndpoint, range: ByteRange?, expecting expectation: BlobExpectation?
    ) async throws -> BlobReadStream {
        var request = HTTPClientRequest(url: node.baseURL + NodeProtocol.blobPath(key))
        if let range { request.headers.add(name: "range", value: range.headerValue) }
        Self.add(expectation, to: &request)
        let response = try await send(request, to: node, deadline: timeouts.transferDeadline(bytes: range?.length))
        guard response.status == .ok || response.status == .partialContent else {
            throw try await failure(from: response, node: node)
        }
        let digest = response.headers.first(name: NodeProtocol.checksumHeader).flatMap(SHA256Digest.init(hex:))
        // A node that does not say how it checked the bytes may be sending unverified ones: never pass them on.
        guard
            let verification = response.headers.first(name: NodeProtocol.verifiedHeader).flatMap(
                BlobReadVerification.init(rawValue:))
        else {
            throw NodeRequestError.invalidResponse(node.id, reason: "the answer does not say how the node verified it")
        }
        let blockRoot = response.headers.first(name: NodeProtocol.blockRootHeader).flatMap(SHA256Digest.init(hex:))
        let framing: BlobAnswerFraming
        do {
            framing = try BlobAnswerFraming(
                partial: response.status == .partialContent, requested: range,
                contentRange: response.headers.first(name: "content-range"),
                declaredLength: response.headers.first(name: NodeProtocol.contentLengthHeader),
                httpLength: response.headers.first(name: "content-length"))
        } catch let problem as BlobAnswerFraming.Problem {
            throw NodeRequestError.invalidResponse(node.id, reason: problem.reason)
        }
        let nodeID = node.id
        let body = response.body.mapErrors { error in NodeRequestError.unreachable(nodeID, reason: "stream broke: \(error)") }
        return BlobReadStream(
            totalSize: framing.totalSize, range: framing.servedRange, recordedDigest: digest, blockRoot: blockRoot,
            verification: verification, mayEndBeforeDamage: framing.mayEndBeforeDamage, body: AnyByteStream(body))
    }

    public func damagedBlocks(of key: FileKey, on node: NodeEndpoint, timeout: Duration) async throws -> [Int] {
        var request = HTTPClientRequest(url: node.baseURL + NodeProtocol.blobPath(key))
        request.method = .HEAD
        let response = try await send(request, to: node, deadline: .now() + .init(timeout))
        guard response.status == .ok || response.status == .partialContent else {
            throw try await failure(from: response, node: node)
        }
        guard let header = response.headers.first(name: NodeProtocol.damagedBlocksHeader) else { return [] }
        guard let blocks = NodeProtocol.decodeBlockIndexes(header) else {
            throw NodeRequestError.invalidResponse(node.id, reason: "malformed \(NodeProtocol.damagedBlocksHeader)")
        }
        return blocks
    }

    public func verifyBlob(
        _ key: FileKey, on node: NodeEndpoint, expecting expectation: BlobExpectation?
    ) async throws -> BlobVerification {
        var request = HTTPClientRequest(url: node.baseURL + NodeProtocol.verifyPath(key))
        request.method = .POST
        Self.add(expectation, to: &request)
        // The node reads the whole blob before answering: allow for that as for a transfer of its size.
        let response = try await send(request, to: node, deadline: timeouts.transferDeadline(bytes: nil))
        return try await decodeJSON(BlobVerification.self, from: response, node: node, limit: 1 << 20)
    }

    private static func add(_ expectation: BlobExpectation?, to request: inout HTTPClientRequest) {
        guard let expectation else { return }
        request.headers.add(name: NodeProtocol.expectedDigestHeader, value: expectation.digest.hex)
        if let root = expectation.blockRoot { request.headers.add(name: NodeProtocol.expectedBlockRootHeader, value: root.hex) }
    }

    public func deleteBlob(_ key: FileKey, on node: NodeEndpoint) async throws -> Bool {
        try await delete(key, on: node, query: "")
    }

    public func retireBlob(_ key: FileKey, on node: NodeEndpoint) async throws -> Bool {
        try await delete(key, on: node, query: "?\(NodeProtocol.movedQueryItem)=true")
    }

    private func delete(_ key: FileKey, on node: NodeEndpoint, query: String) async throws -> Bool {
        var request = HTTPClientRequest(url: node.baseURL + NodeProtocol.blobPath(key) + query)
        request.method = .DELETE
        let response = try await send(request, to: node, deadline: .now() + .init(timeouts.control))
        switch response.status.code {
        case 200, 204:
            _ = try? await response.body.collect(upTo: 64 << 10)
            return true
        case 404:
            _ = try? await response.body.collect(upTo: 64 << 10)
            return false
        default: throw try await failure(from: response, node: node)
        }
    }

    public func inventory(of node: NodeEndpoint, after: String?, limit: Int) async throws -> InventoryPage {
        var components = URLComponents(string: node.baseURL + "/inventory")!
        components.queryItems =
            [URLQueryItem(name: "limit", value: String(limit))] + (after.map { [URLQueryItem(name: "after", value: $0)] } ?? [])
        let response = try await send(
            HTTPClientRequest(url: components.string!), to: node, deadline: .now() + .init(timeouts.control))
        return try await decodeJSON(InventoryPage.self, from: response, node: node, limit: 64 << 20)
    }

    // MARK: - plumbing

    private func send(
        _ request: HTTPClientRequest, to node: NodeEndpoint, deadline: NIODeadline
    ) async throws -> HTTPClientResponse {
        var request = request
        if let clusterSecret { request.headers.replaceOrAdd(name: ClusterSecret.headerName, value: clusterSecret.value) }
        do {
            return try await httpClient.execute(request, deadline: deadline)
        } catch let error as NodeRequestError {
            throw error
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw NodeRequestError.unreachable(node.id, reason: Self.describe(error))
        }
    }

    private func decodeJSON<T: Decodable>(
        _ type: T.Type, from response: HTTPClientResponse, node: NodeEndpoint, limit: Int
    ) async throws -> T {
        guard (200..<300).contains(response.status.code) else { throw try await failure(from: response, node: node) }
        let buffer: ByteBuffer
        do {
            buffer = try await response.body.collect(upTo: limit)
        } catch {
            throw NodeRequestError.unreachable(node.id, reason: "reading answer: \(Self.describe(error))")
        }
        do {
            return try JSONDecoder().decode(T.self, from: Data(buffer.readableBytesView))
        } catch {
            throw NodeRequestError.invalidResponse(node.id, reason: "undecodable \(T.self): \(error)")
        }
    }

    private func failure(from response: HTTPClientResponse, node: NodeEndpoint) async throws -> NodeRequestError {
        let buffer = (try? await response.body.collect(upTo: 64 << 10)) ?? ByteBuffer()
        let body = try? JSONDecoder().decode(ErrorBody.self, from: Data(buffer.readableBytesView))
        let message = body?.message ?? String(buffer: buffer).prefix(200).description
        switch response.status.code {
        case 404: return .blobNotFound(node.id)
        case 422 where body?.error == "blob_corrupt": return .blobCorrupt(node.id, message: message)
        case 422: return .digestMismatch(node.id, message: message)
        case 507: return .insufficientStorage(node.id, message: message)
        default: return .rejected(node.id, status: Int(response.status.code), message: message)
        }
    }

    static func describe(_ error: any Error) -> String {
        if let clientError = error as? HTTPClientError {
            switch clientError {
            case .connectTimeout: return "connect timeout"
            case .readTimeout: return "read timeout"
            case .deadlineExceeded: return "deadline exceeded"
            case .remoteConnectionClosed: return "connection closed by node"
            default: return "\(clientError)"
            }
        }
        let text = "\(error)"
        if text.contains("Connection refused") || text.contains("connectionRefused") || text.contains("ECONNREFUSED") {
            return "connection refused"
        }
        return String(text.prefix(200))
    }
}

extension AsyncSequence where Self: Sendable, Element == ByteBuffer {
    /// Replaces whatever error the underlying stream throws with `transform(error)`.
    func mapErrors(_ transform: @escaping @Sendable (any Error) -> any Error) -> ErrorMappingSequence<Self> {
        ErrorMappingSequence(base: self, transform: transform)
    }
}

struct ErrorMappingSequence<Base: AsyncSequence & Sendable>: AsyncSequence, Sendable where Base.Element == ByteBuffer {
    typealias Element = ByteBuffer
    let base: Base
    let transform: @Sendable (any Error) -> any Error

    struct AsyncIterator: AsyncIteratorProtocol {
        var base: Base.AsyncIterator
        let transform: @Sendable (any Error) -> any Error
        mutating func next() async throws -> ByteBuffer? {
            do { return try await base.next() } catch is CancellationError { throw CancellationError() } catch {
                throw transform(error)
            }
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(base: base.makeAsyncIterator(), transform: transform) }
}
