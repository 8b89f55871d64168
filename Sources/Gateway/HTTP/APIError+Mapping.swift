import DFSClient
import DFSCore
import DFSMetadata
import DFSServer
import HTTPTypes
import Hummingbird

/// The single mapping from domain errors to HTTP; handlers never build error responses themselves.
extension APIError {
    init(mapping error: any Error) {
        switch error {
        case let error as APIError:
            self = error
        case is DecodingError:
            self = APIError(status: .badRequest, code: "bad_request", message: "the JSON body does not have the expected fields")
        case let error as KeyValidationError:
            self = APIError(status: .badRequest, code: "invalid_key", message: error.description)
        case let error as UploadError:
            self = Self.map(error)
        case let error as FileAccessError:
            switch error {
            case .fileNotFound(let key):
                self = APIError(status: .notFound, code: "file_not_found", message: "no file with key \(key)")
            case .rangeNotSatisfiable(let size):
                self = APIError(
                    status: .rangeNotSatisfiable, code: "range_not_satisfiable",
                    message: "the requested range is outside the file's \(size) bytes")
            }
        case let error as NodeNotFound:
            self = APIError(status: .notFound, code: "node_not_found", message: "no node with id \(error.id)")
        case let error as NoNodeAvailable:
            self = APIError(
                status: .serviceUnavailable, code: "no_node_available",
                message: "no storage node could take the \(error.action): "
                    + (error.attempts.isEmpty ? "none tried" : error.attempts.joined(separator: "; ")),
                attempts: error.attempts)
        case let error as NodeRequestError:
            switch error {
            case .insufficientStorage(let node, let message):
                self = APIError(
                    status: Self.insufficientStorage, code: "insufficient_storage",
                    message: "node \(node) is out of space: \(message)")
            default:
                self = APIError(
                    status: .serviceUnavailable, code: "no_node_available", message: error.description,
                    attempts: [error.description])
            }
        case let error as MetadataError:
            switch error {
            case .unavailable(let reason):
                self = APIError(
                    status: .serviceUnavailable, code: "metadata_unavailable",
                    message: "the metadata store is unavailable: \(reason)")
            default:
                self = APIError(status: .internalServerError, code: "internal_error", message: "internal error (metadata)")
            }
        case let error as HTTPError:
            // Raised by the router itself (unknown route, wrong method) or by body decoding.
            let code: String
            switch error.status.code {
            case 404: code = "not_found"
            case 405: code = "method_not_allowed"
            case 413: code = "payload_too_large"
            default: code = "bad_request"
            }
            let fallback =
                error.status.code == 404
                ? "no such endpoint"
                : error.status.code == 405 ? "method not allowed on this endpoint" : "the request could not be handled"
            self = APIError(status: error.status, code: code, message: error.body ?? fallback)
        default:
            self = APIError(status: .internalServerError, code: "internal_error", message: "internal server error")
        }
    }

    private static func map(_ error: UploadError) -> APIError {
        switch error {
        case .missingFileField:
            return APIError(
                status: .badRequest, code: "missing_file_field", message: "the multipart body has no part named 'file'")
        case .missingFilename:
            return APIError(
                status: .badRequest, code: "missing_filename", message: "a raw upload body needs its file name in ?filename=")
        case .invalidFilename(let reason):
            return APIError(status: .badRequest, code: "invalid_filename", message: reason)
        case .malformedMultipart(let reason):
            return APIError(status: .badRequest, code: "malformed_multipart", message: reason)
        case .payloadTooLarge(let limit):
            return APIError(
                status: .contentTooLarge, code: "payload_too_large", message: "the upload exceeds the limit of \(limit) bytes")
        case .digestMismatch(let expected, let actual):
            return APIError(
                status: .unprocessableContent, code: "digest_mismatch",
                message: "the body hashes to \(actual.hex), the client declared \(expected.hex); nothing was stored")
        case .invalidDigestHeader(let reason):
            return APIError(status: .badRequest, code: "invalid_digest", message: reason)
        case .quorumNotReached(let required, let verified, let failures):
            return APIError(
                status: .serviceUnavailable, code: "no_node_available",
                message: "only \(verified.count) verified copies, \(required) required: " + failures.joined(separator: "; "),
                attempts: failures)
        case .bodyInterrupted(let reason):
            return APIError(status: .badRequest, code: "body_interrupted", message: "the request body ended early: \(reason)")
        case .primaryStalled(let attempts):
            return APIError(
                status: .serviceUnavailable, code: "primary_unavailable",
                message:
                    "the upload's primary node stopped reading or answering and the body was too large to send again; nothing was stored: "
                    + attempts.joined(separator: "; "),
                attempts: attempts)
        case .noRoom(let attempts):
            return APIError(
                status: insufficientStorage, code: "insufficient_storage",
                message: "no storage node has room for this file: " + attempts.joined(separator: "; "), attempts: attempts)
        case .outOfSpaceMidBody(let attempts):
            return APIError(
                status: insufficientStorage, code: "insufficient_storage",
                message:
                    "the upload's primary node ran out of space mid-body and the body was too large to send again; nothing was stored: "
                    + attempts.joined(separator: "; "),
                attempts: attempts)
        }
    }

    private static let insufficientStorage = HTTPResponse.Status(code: 507, reasonPhrase: "Insufficient Storage")
}

struct NodeNotFound: Error {
    let id: String
}
