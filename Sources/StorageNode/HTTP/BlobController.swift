import DFSCore
import Hummingbird
import NIOCore

/// `PUT`, `GET`, `HEAD` and `DELETE /blobs/{key}`: parse, call the store or coordinator, answer.
struct BlobController: Sendable {
    let store: BlobStore
    let coordinator: PutCoordinator
    /// Bytes read from disk per body chunk; bounds a download's memory whatever the blob size.
    var readChunkSize = 256 << 10

    func register(on router: Router<BasicRequestContext>) {
        router.put(BlobKeyParameter.route, use: put)
        router.get(BlobKeyParameter.route, use: get)
        router.head(BlobKeyParameter.route, use: head)
        router.delete(BlobKeyParameter.route, use: delete)
    }

    @Sendable func put(_ request: Request, context: BasicRequestContext) async throws -> Response {
        let input = try BlobPutInput(parsing: request, context: context)
        let result = try await coordinator.put(
            input.key, body: request.body, length: input.contentLength,
            expectedDigest: input.expectedDigest, targets: input.targets, logger: context.logger
        )
        context.logger.debug(
            "blob stored",
            metadata: ["file_key": "\(input.key)", "bytes": "\(result.sizeBytes)", "replicas": "\(result.replicas.filter(\.stored).count)/\(result.replicas.count)"]
        )
        return .json(result)
    }

    @Sendable func get(_ request: Request, context: BasicRequestContext) async throws -> Response {
        // Without a range the first chunk is read while opening: one trip to the I/O threads serves a small blob.
        let blob = try await store.openForReading(
            try BlobKeyParameter.key(in: context), readAhead: request.headers[.range] == nil ? readChunkSize : 0)
        let plan = try BlobReadPlan(metadata: blob.metadata, rangeHeader: request.headers[.range])
        let chunkSize = Int64(readChunkSize)
        let body = ResponseBody(contentLength: Int(plan.length)) { writer in
            var offset = plan.offset
            let end = plan.offset + plan.length
            while offset < end {
                let chunk = try await blob.read(offset: offset, length: Int(min(chunkSize, end - offset)))
                // Renames never truncate an open file, so a short read means outside damage: abort, never pad.
                guard chunk.readableBytes > 0 else { throw BlobStoreError.incompleteBody(reason: "blob shorter than its size") }
                offset += Int64(chunk.readableBytes)
                try await writer.write(chunk)
            }
            try await writer.finish(nil)
        }
        return Response(status: plan.status, headers: plan.headers, body: body)
    }

    @Sendable func head(_ request: Request, context: BasicRequestContext) async throws -> Response {
        let metadata = try await store.metadata(of: try BlobKeyParameter.key(in: context))
        let plan = try BlobReadPlan(metadata: metadata, rangeHeader: request.headers[.range])
        // The plan's Content-Length stays: Response only fills it in when absent.
        return Response(status: plan.status, headers: plan.headers)
    }

    @Sendable func delete(_ request: Request, context: BasicRequestContext) async throws -> Response {
        let key = try BlobKeyParameter.key(in: context)
        guard try await store.delete(key) else { throw BlobStoreError.blobNotFound(key) }
        context.logger.debug("blob deleted", metadata: ["file_key": "\(key)"])
        return .json(DeleteAnswer(deleted: true))
    }
}

/// `DELETE /blobs/{key}` answer.
struct DeleteAnswer: Codable, Equatable {
    var deleted: Bool
}
