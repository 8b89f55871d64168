import DFSClient
import DFSCore
import DFSMetadata
import DFSServer
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// Registers the gateway's public API. Handlers parse, call one domain method, encode.
struct GatewayRoutes: Sendable {
    let services: GatewayServices

    func register(on router: Router<GatewayContext>) {
        router.add(middleware: RequestMetricsMiddleware(metrics: services.metrics))
        router.add(middleware: APIErrorMiddleware(mapping: APIError.init(mapping:)))
        router.add(middleware: AccessControlMiddleware(access: services.access))
        router.get("/health") { _, _ in try await self.health() }
        router.post("/upload") { request, context in try await self.upload(request, context: context) }
        // `curl -T FILE URL` sends a PUT: accept it as the raw-body form.
        router.put("/upload") { request, context in try await self.upload(request, context: context) }
        router.get("/download/:key") { request, context in try await self.download(request, context: context, headOnly: false) }
        router.head("/download/:key") { request, context in try await self.download(request, context: context, headOnly: true) }
        router.get("/files") { request, _ in try await self.listFiles(request) }
        router.get("/files/:key") { _, context in
            let entry = try await services.downloads.metadata(of: try FileKey(validating: context.parameters.require("key")))
            return FileDetailResponse(entry, role: try await objectRoles(of: [entry])[entry.file.key])
        }
        router.get("/files/:key/download-link") { _, context in
            let key = try FileKey(validating: context.parameters.require("key"))
            _ = try await services.downloads.metadata(of: key)  // an unknown file is a 404 now, not when the link is used
            // A link is a credential while it lives: no cache may keep it.
            return EditedResponse(
                headers: [.cacheControl: "no-store"], response: DownloadLinkResponse(services.access.downloadLinks.link(for: key))
            )
        }
        router.delete("/files/:key") { _, context in
            DeleteResponse(
                try await services.deleter.delete(
                    try FileKey(validating: context.parameters.require("key")), logger: context.logger))
        }
        router.get("/nodes") { _, _ in try await self.nodes() }
        router.get("/nodes/check") { _, _ in await self.checkNodes() }
        router.post("/nodes/:id/recover") { _, context in
            try await self.recover(context.parameters.require("id"), context: context)
        }
        router.post("/nodes/:id/drain") { _, context in
            NodeLifecycleResponse(try await services.lifecycle.drain(try NodeID(validating: context.parameters.require("id"))))
        }
        router.post("/nodes/:id/activate") { _, context in
            NodeLifecycleResponse(
                try await services.lifecycle.activate(try NodeID(validating: context.parameters.require("id"))))
        }
        router.delete("/nodes/:id") { request, context in
            let id = try NodeID(validating: context.parameters.require("id"))
            let force = try request.uri.flagParameter("force")
            try await services.lifecycle.remove(id, force: force)
            return NodeRemovedResponse(node_id: id.rawValue, removed: true)
        }
        router.get("/replication-queue") { request, _ in try await self.queue(request) }
        router.get("/status/replication") { _, _ in try await self.replicationStatus() }
        router.get("/metrics") { _, _ in try await self.metrics() }
        router.post("/audit") { _, _ in AuditResponse(await services.auditor.auditAll()) }
        router.post("/internal/nodes/register") { request, context in try await self.registerNode(request, context: context) }
    }

    // MARK: - handlers

    func health() async throws -> HealthResponse {
        let all = await services.scoreboard.all()
        return HealthResponse(
            nodes_up: all.filter(\.isUp).count, nodes_total: all.count, replicas: services.configuration.replicas)
    }

    func upload(_ request: Request, context: GatewayContext) async throws -> UploadResponse {
        let input = try UploadInput(parsing: request, maxUploadSize: services.configuration.maxUploadSize)
        let reader = UploadBodyReader(
            body: AnyByteStream(request.body), format: input.format, maxSize: services.configuration.maxUploadSize,
            filename: input.filename)
        try await reader.prepare()
        let descriptor = UploadDescriptor(
            filename: reader.filename ?? "upload.bin", expectedDigest: input.expectedDigest,
            length: input.format == .raw ? input.contentLength : nil)
        return UploadResponse(try await services.uploads.store(reader, as: descriptor, logger: context.logger))
    }

    func download(_ request: Request, context: GatewayContext, headOnly: Bool) async throws -> Response {
        let key = try FileKey(validating: context.parameters.require("key"))
        let entry = try await services.downloads.metadata(of: key)
        let file = entry.file
        var headers = HTTPFields()
        headers[.eTag] = "\"\(file.checksum.hex)\""
        headers[.acceptRanges] = "bytes"
        headers[.contentType] = "application/octet-stream"
        headers[.contentDisposition] = ContentDispositionHeader.attachment(filename: file.originalFilename)
        headers[HTTPField.Name("x-checksum-sha256")!] = file.checksum.hex
        if let ifNoneMatch = request.headers[.ifNoneMatch], ETagMatch.matches(ifNoneMatch, digest: file.checksum) {
            return Response(status: .notModified, headers: headers)
        }
        if headOnly {
            headers[.contentLength] = String(file.sizeBytes)
            return Response(status: .ok, headers: headers)
        }
        let plan = try await services.downloads.open(entry, rangeHeader: request.headers[.range], logger: context.logger)
        headers[.contentLength] = String(plan.contentLength)
        headers[HTTPField.Name("x-routed-from")!] = plan.servedBy.rawValue
        // Known before the body starts; what happens mid-stream goes to the "download served" log line instead.
        headers[HTTPField.Name("x-served-by")!] = plan.routing.servedBy.rawValue
        headers[HTTPField.Name("x-dfs-failovers")!] = String(plan.routing.failedBeforeFirstByte.count)
        headers[HTTPField.Name("x-dfs-hedged")!] = plan.routing.hedgedTo?.rawValue ?? "false"
        if let latency = plan.nodeLatencyMs { headers[HTTPField.Name("x-node-latency-ms")!] = String(roundedMs(latency)) }
        var status = HTTPResponse.Status.ok
        if let range = plan.range {
            status = .partialContent
            headers[.contentRange] = range.contentRange(totalSize: file.sizeBytes)
        }
        return Response(status: status, headers: headers, body: ResponseBody(asyncSequence: plan.body))
    }

    func listFiles(_ request: Request) async throws -> FileListResponse {
        let parameters = request.uri.queryParameters
        var limit = 100
        if let raw = parameters.get("limit") {
            guard let parsed = Int(raw), (1...1000).contains(parsed) else { throw APIError.badRequest("limit must be 1-1000") }
            limit = parsed
        }
        var before: Int64? = nil
        if let raw = parameters.get("after"), !raw.isEmpty {
            guard let cursor = Int64(raw), cursor > 0 else { throw APIError.badRequest("after must be a cursor from next_after") }
            before = cursor
        }
        let searchText = try request.uri.formDecodedParameter("q") ?? ""
        let search: FileNameSearch?
        do {
            search = try FileNameSearch(searchText)
        } catch {
            throw APIError.badRequest("\(error)")
        }
        let page = try await services.store.listFiles(
            limit: limit, before: before, matching: search, scanSpan: FilePage.unindexedScanSpan)
        let roles = try await objectRoles(of: page.entries)
        return FileListResponse(
            files: page.entries.map { FileSummaryDTO($0, role: roles[$0.file.key]) }, count: page.entries.count,
            next_after: page.nextBefore.map(String.init))
    }

    /// What the entries holding S3 objects' bytes are to their objects: one catalog query per page, none for a page
    /// of `/upload` files.
    func objectRoles(of entries: [FileEntry]) async throws -> [FileKey: S3FileRole] {
        let keys = entries.filter { $0.file.s3Object != nil }.map(\.file.key)
        return keys.isEmpty ? [:] : try await services.catalog.objectRoles(of: keys)
    }

    func nodes() async throws -> [NodeStatusDTO] {
        let records = try await services.store.nodes()
        var result: [NodeStatusDTO] = []
        for record in records {
            let score = await services.scoreboard.score(of: record.id)
            let health = await services.prober.lastHealth.health(of: record.id)
            result.append(
                NodeStatusDTO(
                    id: record.id.rawValue, address: record.address,
                    status: (score?.isUp ?? (record.status == .up)) ? "UP" : "DOWN",
                    role: record.role.rawValue, last_heartbeat: record.lastHeartbeat.map(MetadataTime.format),
                    latency_ms: (score?.ewmaLatencyMs ?? record.latencyMs).map(roundedMs), in_flight: score?.inFlight ?? 0,
                    ejected: score?.isEjected ?? false, free_bytes: health?.freeBytes, blob_count: health?.blobCount,
                    zone: health?.zone ?? record.id.rawValue, capacity_bytes: health?.capacityBytes,
                    used_bytes: health?.usedBytes, state: record.state.rawValue))
        }
        return result
    }

    func checkNodes() async -> NodeCheckResponse {
        let (results, cameBack) = await services.prober.probeAll()
        for node in cameBack { services.recoveryTrigger(node) }
        return NodeCheckResponse(
            checked_at: MetadataTime.format(Date()),
            nodes: results.map {
                NodeCheckResponse.Node(
                    id: $0.node.id.rawValue, address: $0.node.baseURL, status: $0.isUp ? "UP" : "DOWN",
                    latency_ms: $0.latency.map { roundedMs($0.milliseconds) }, free_bytes: $0.health?.freeBytes,
                    blob_count: $0.health?.blobCount, error: $0.error)
            })
    }

    func recover(_ rawID: String, context: GatewayContext) async throws -> RecoverResponse {
        let id = try NodeID(validating: rawID)
        guard await services.scoreboard.score(of: id) != nil else { throw NodeNotFound(id: rawID) }
        let summary = try await services.repairer.drain(id, includeFailed: true)
        return RecoverResponse(
            message: summary.total == 0 ? "nothing to recover on \(id)" : "recovery of \(id) finished",
            node_id: id.rawValue, total: summary.total, success: summary.success, failed: summary.failed,
            pending_items: summary.pendingItems)
    }

    func queue(_ request: Request) async throws -> QueueResponse {
        let parameters = request.uri.queryParameters
        var filter = QueueFilter(limit: 1000)
        if let raw = parameters.get("status"), !raw.isEmpty {
            guard let status = QueueItemStatus(rawValue: raw.uppercased()) else {
                throw APIError.badRequest(
                    "status must be one of \(QueueItemStatus.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            filter.status = status
        }
        if let raw = parameters.get("node_id"), !raw.isEmpty { filter.targetNodeID = try NodeID(validating: String(raw)) }
        if let raw = parameters.get("limit") {
            guard let limit = Int(raw), (1...10_000).contains(limit) else { throw APIError.badRequest("limit must be 1-10000") }
            filter.limit = limit
        }
        let items = try await services.store.queueItems(filter)
        return QueueResponse(items: items.map(QueueItemDTO.init), count: items.count)
    }

    func replicationStatus() async throws -> ReplicationStatusResponse {
        let factor = services.configuration.replicas
        let summary = try await services.store.replicationSummary(replicationFactor: factor)
        let all = await services.scoreboard.all()
        return ReplicationStatusResponse(
            summary, replicationFactor: factor, nodesUp: all.filter(\.isUp).count, nodesTotal: all.count, now: Date())
    }

    func metrics() async throws -> Response {
        let summary = try await services.store.replicationSummary(replicationFactor: services.configuration.replicas)
        let all = await services.scoreboard.all()
        let text = services.metrics.render(
            summary: summary, nodesUp: all.filter(\.isUp).count, nodesTotal: all.count, now: Date())
        return Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    func registerNode(_ request: Request, context: GatewayContext) async throws -> HTTPResponse.Status {
        let body = try await request.decode(as: RegisterNodeRequest.self, context: context)
        let id = try NodeID(validating: body.id)
        // A URL without a host ("http://") would make every later request to this node go astray.
        guard let url = URLComponents(string: body.address), url.scheme == "http" || url.scheme == "https",
            let host = url.host, !host.isEmpty
        else {
            throw APIError.badRequest("address must be an http(s) URL with a host")
        }
        guard await !services.prober.lastHealth.wasRemoved(id) else {
            throw APIError(
                status: .conflict, code: "node_removed",
                message:
                    "\(id) was removed from this cluster; to add a node here again, start it with a new --id and empty --data")
        }
        let known = await services.scoreboard.score(of: id)
        let role = body.role.flatMap { NodeRole(rawValue: $0.uppercased()) } ?? known?.role ?? .backup
        try await services.store.registerNode(id: id, address: body.address, role: role)
        // A removal that ran while this row was written marked the node first: undo the registration, keep it out.
        if await services.prober.lastHealth.wasRemoved(id) {
            _ = try await services.store.removeNode(id, at: Date())
            throw APIError(
                status: .conflict, code: "node_removed", message: "\(id) was removed from this cluster while it registered")
        }
        // A node new to this gateway serves only once a probe of ours reached it: its registration proves that it can
        // reach us, not that we can reach it or trust its certificate.
        await services.scoreboard.register(
            NodeEndpoint(id: id, baseURL: body.address), role: role, isUp: known?.isUp ?? false)
        return .ok
    }
}

/// `Content-Disposition: attachment` with an ASCII fallback and the RFC 5987 UTF-8 form.
/// `Content-Disposition: attachment` with the name twice: an ASCII fallback (`filename`, other characters as `_`) and
/// the exact name (`filename*`, RFC 8187: UTF-8, percent-encoded but for attr-chars). Built byte by byte: it is on
/// every download, and building it with `CharacterSet` and `addingPercentEncoding` cost 3 % of the gateway's CPU
/// on small downloads.
enum ContentDispositionHeader {
    static func attachment(filename: String) -> String {
        var header = Array("attachment; filename=\"".utf8)
        header.reserveCapacity(40 + filename.utf8.count * 4)
        for scalar in filename.unicodeScalars {
            let keep = scalar.isASCII && scalar.value >= 0x20 && scalar != "\"" && scalar != "\\"
            header.append(keep ? UInt8(scalar.value) : UInt8(ascii: "_"))
        }
        header += Array("\"; filename*=UTF-8''".utf8)
        let hex = Array("0123456789ABCDEF".utf8)
        for byte in filename.utf8 {
            if isAttributeCharacter(byte) {
                header.append(byte)
            } else {
                header += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]]
            }
        }
        return String(decoding: header, as: UTF8.self)
    }

    /// RFC 8187's attr-char: ASCII letters and digits and `!#$&+-.^_`|~`.
    static func isAttributeCharacter(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "&"), UInt8(ascii: "+"), UInt8(ascii: "-"),
            UInt8(ascii: "."), UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }
}

/// `If-None-Match` against the file's ETag (its quoted SHA-256).
enum ETagMatch {
    static func matches(_ header: String, digest: SHA256Digest) -> Bool {
        header.split(separator: ",").contains { candidate in
            var tag = candidate.trimmingCharacters(in: .whitespaces)
            if tag == "*" { return true }
            if tag.hasPrefix("W/") { tag.removeFirst(2) }
            return tag.trimmingCharacters(in: CharacterSet(charactersIn: "\"")) == digest.hex
        }
    }
}
