import DFSCore
import Hummingbird
import NIOCore

/// `PUT`, `GET`, `HEAD` and `DELETE /blobs/{key}`: parse, call the store or coordinator, answer.
struct BlobController: Sendable {
    let store: BlobStore
    let coordinator: PutCoordinator

    func register(on router: Router<BasicRequestContext>) {
        router.put(BlobKeyParameter.route, use: put)
        router.get(BlobKeyParameter.route, use: get)
        router.head(BlobKeyParameter.route, use: head)
        router.delete(BlobKeyParameter.route, use: delete)
        router.post(BlobKeyParameter.verifyRoute, use: verify)
    }

    @Sendable func put(_ request: Request, context: BasicRequestContext) async throws -> Response {
        let input = try BlobPutInput(parsing: request, context: context)
        let result = try await coordinator.put(
            input.key, body: request.body, length: input.contentLength,
            expectedDigest: input.expectedDigest, expectedBlockRoot: input.expectedBlockRoot, targets: input.targets,
            replicaIdleLimit: input.replicaIdleLimit, logger: context.logger
        )
        context.logger.debug(
            "blob stored",
            metadata: [
                "file_key": "\(input.key)", "bytes": "\(result.sizeBytes)",
                "replicas": "\(result.replicas.filter(\.stored).count)/\(result.replicas.count)",
            ]
        )
        return .json(result)
    }

    @Sendable func get(_ request: Request, context: BasicRequestContext) async throws -> Response {
        let key = try BlobKeyParameter.key(in: context)
        let read = try await store.openVerified(
            key,
            BlobReadRequest(rangeHeader: request.headers[.range], expectation: try BlobExpectationHeaders.parse(request.headers)))
        var headers = read.plan.headers
        headers[.dfsVerified] = read.verification.rawValue
        if let root = read.blockRoot { headers[.dfsBlockRoot] = root.hex }
        headers[.dfsContentLength] = String(read.plan.length)
        if let whole = read.completeBody {
            // Checked before the head leaves: nothing can cut it, so no chunked framing and one write.
            return Response(status: read.plan.status, headers: headers, body: .init(byteBuffer: whole))
        }
        // Chunked, with the length in a header of its own: before a damaged block the body ends early but cleanly, so
        // every verified byte before it is flushed and the reader can resume at exactly that byte. Cutting a
        // Content-Length body instead drops whatever NIO still had queued.
        headers[.contentLength] = nil
        let logger = context.logger
        let body = ResponseBody { writer in
            do {
                while let chunk = try await read.next() { try await writer.write(chunk) }
            } catch let error as BlobStoreError {
                logger.error("read stopped before a damaged block", metadata: ["file_key": "\(key)", "error": "\(error)"])
            }
            try await writer.finish(nil)
        }
        return Response(status: read.plan.status, headers: headers, body: body)
    }

    @Sendable func head(_ request: Request, context: BasicRequestContext) async throws -> Response {
        let key = try BlobKeyParameter.key(in: context)
        let metadata = try await store.metadata(of: key)
        var plan = try BlobReadPlan(metadata: metadata, rangeHeader: request.headers[.range])
        let damaged = store.damage.blocks(of: key)
        if !damaged.isEmpty { plan.headers[.dfsDamagedBlocks] = damaged.map(String.init).joined(separator: ",") }
        // The plan's Content-Length stays: Response only fills it in when absent.
        return Response(status: plan.status, headers: plan.headers)
    }

    /// `POST /blobs/{key}/verify`: the whole blob re-read and checked block by block (the audit's question).
    @Sendable func verify(_ request: Request, context: BasicRequestContext) async throws -> Response {
        let key = try BlobKeyParameter.key(in: context)
        let verification = try await store.verify(key, expectation: try BlobExpectationHeaders.parse(request.headers))
        if !verification.intact {
            context.logger.warning(
                "verification found damage", metadata: ["file_key": "\(key)", "error": "\(verification.problem ?? "")"])
        }
        return .json(verification)
    }

    @Sendable func delete(_ request: Request, context: BasicRequestContext) async throws -> Response {
        let key = try BlobKeyParameter.key(in: context)
        // A copy placement moved elsewhere may be placed here again: only a file's deletion bars late puts of its key.
        let moved = request.uri.queryParameters.get(NodeProtocol.movedQueryItem) == "true"
        guard try await store.delete(key, barringLatePuts: !moved) else { throw BlobStoreError.blobNotFound(key) }
        context.logger.debug("blob deleted", metadata: ["file_key": "\(key)"])
        return .json(DeleteAnswer(deleted: true))
    }
}

/// `DELETE /blobs/{key}` answer.
struct DeleteAnswer: Codable, Equatable {
    var deleted: Bool
}
