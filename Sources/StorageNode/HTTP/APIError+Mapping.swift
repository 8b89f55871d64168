import DFSCore
import DFSServer
import HTTPTypes
import Hummingbird

extension APIError {
    /// The one place that turns any error into an answer; unknown errors become a bare 500.
    init(mapping error: any Error) {
        switch error {
        case let error as APIError:
            self = error
        case let error as KeyValidationError:
            self = .badRequest("Invalid blob key: \(error.description).", code: "invalid_key")
        case let error as BlobStoreError:
            self = Self.mapping(error)
        case let error as HTTPError:
            self = Self.mapping(error)
        default:
            self = APIError(
                status: .internalServerError, code: "internal_error", message: "The node failed to handle the request.")
        }
    }

    private static func mapping(_ error: BlobStoreError) -> APIError {
        switch error {
        case .reservedKey:
            return .badRequest("Invalid blob key: \(error.description).", code: "invalid_key")
        case .blobNotFound(let key):
            return APIError(status: .notFound, code: "blob_not_found", message: "No blob '\(key)' on this node.")
        case .deletedMeanwhile(let key):
            return APIError(
                status: .conflict, code: "blob_deleted", message: "Blob '\(key)' was deleted on this node; the put was discarded."
            )
        case .digestMismatch(let expected, let actual):
            return APIError(
                status: .unprocessableContent, code: "digest_mismatch",
                message: "The received bytes hash to \(actual.hex), not the expected \(expected.hex); nothing was stored."
            )
        case .blockRootMismatch(let expected, let actual):
            return APIError(
                status: .unprocessableContent, code: "digest_mismatch",
                message: "The received bytes have block root \(actual.hex), not the expected \(expected.hex); nothing was stored."
            )
        case .blobCorrupt(let key, let reason):
            return APIError(
                status: .unprocessableContent, code: "blob_corrupt", message: "Blob '\(key)' cannot be served: \(reason).")
        case .insufficientStorage(let detail):
            return APIError(
                status: .insufficientStorage, code: "insufficient_storage",
                message: "The node's disk is full (\(detail)); nothing was stored.")
        case .incompleteBody(let reason):
            return .badRequest("The request body ended early (\(reason)); nothing was stored.", code: "incomplete_body")
        case .systemCall:
            return APIError(
                status: .internalServerError, code: "internal_error", message: "The node failed to handle the request.")
        }
    }

    private static func mapping(_ error: HTTPError) -> APIError {
        switch error.status {
        case .notFound: return APIError(status: .notFound, code: "not_found", message: "No such route on this node.")
        case .methodNotAllowed:
            return APIError(status: .methodNotAllowed, code: "method_not_allowed", message: "Method not allowed on this route.")
        default:
            let code = error.status.reasonPhrase.lowercased().replacingOccurrences(of: " ", with: "_")
            return APIError(
                status: error.status, code: code.isEmpty ? "http_\(error.status.code)" : code,
                message: error.body ?? error.status.reasonPhrase)
        }
    }
}
