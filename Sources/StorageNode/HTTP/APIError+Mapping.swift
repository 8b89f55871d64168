import DFSCore
import HTTPTypes
import Hummingbird

extension APIError {
    /// The one place that turns any error into an answer; unknown errors become a bare 500.
    init(mapping error: any Error) {
        switch error {
        case let error as APIError:
            self = error
        case let error as KeyValidationError:
            self = .badRequest("invalid_key", "Invalid blob key: \(error.description).")
        case let error as BlobStoreError:
            self = Self.mapping(error)
        case let error as HTTPError:
            self = Self.mapping(error)
        default:
            self = APIError(.internalServerError, "internal_error", "The node failed to handle the request.")
        }
    }

    /// Whether the error was unexpected and needs logging with its detail (the client sees none of it).
    static func isInternal(_ error: any Error) -> Bool {
        APIError(mapping: error).status == .internalServerError
    }

    private static func mapping(_ error: BlobStoreError) -> APIError {
        switch error {
        case .reservedKey:
            return .badRequest("invalid_key", "Invalid blob key: \(error.description).")
        case .blobNotFound(let key):
            return APIError(.notFound, "blob_not_found", "No blob '\(key)' on this node.")
        case .deletedMeanwhile(let key):
            return APIError(.conflict, "blob_deleted", "Blob '\(key)' was deleted on this node; the put was discarded.")
        case .digestMismatch(let expected, let actual):
            return APIError(
                .unprocessableContent, "digest_mismatch",
                "The received bytes hash to \(actual.hex), not the expected \(expected.hex); nothing was stored."
            )
        case .blockRootMismatch(let expected, let actual):
            return APIError(
                .unprocessableContent, "digest_mismatch",
                "The received bytes have block root \(actual.hex), not the expected \(expected.hex); nothing was stored."
            )
        case .blobCorrupt(let key, let reason):
            return APIError(.unprocessableContent, "blob_corrupt", "Blob '\(key)' cannot be served: \(reason).")
        case .insufficientStorage(let detail):
            return APIError(
                .insufficientStorage, "insufficient_storage", "The node's disk is full (\(detail)); nothing was stored.")
        case .incompleteBody(let reason):
            return .badRequest("incomplete_body", "The request body ended early (\(reason)); nothing was stored.")
        case .systemCall:
            return APIError(.internalServerError, "internal_error", "The node failed to handle the request.")
        }
    }

    private static func mapping(_ error: HTTPError) -> APIError {
        switch error.status {
        case .notFound: return APIError(.notFound, "not_found", "No such route on this node.")
        case .methodNotAllowed: return APIError(.methodNotAllowed, "method_not_allowed", "Method not allowed on this route.")
        default:
            let code = error.status.reasonPhrase.lowercased().replacingOccurrences(of: " ", with: "_")
            return APIError(
                error.status, code.isEmpty ? "http_\(error.status.code)" : code, error.body ?? error.status.reasonPhrase)
        }
    }
}
