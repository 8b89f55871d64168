import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// An error as a client sees it, from the gateway or a node: a status and the JSON `{"error", "message"}` every
/// client of the prototype parses, with a stable snake_case code. Each binary maps its own errors to it in one
/// place (`APIError+Mapping.swift`); `APIErrorMiddleware` renders whatever a handler throws.
public struct APIError: Error, HTTPResponseError, Sendable, Equatable {
    public var status: HTTPResponse.Status
    public var code: String
    public var message: String
    /// Extra machine-readable detail (e.g. the nodes tried for a 503).
    public var attempts: [String]?
    /// Extra response headers, such as `WWW-Authenticate` on a 401 or `Content-Range: bytes */size` on a 416.
    public var headers: HTTPFields

    public init(status: HTTPResponse.Status, code: String, message: String, attempts: [String]? = nil, headers: HTTPFields = [:])
    {
        self.status = status
        self.code = code
        self.message = message
        self.attempts = attempts
        self.headers = headers
    }

    public static func badRequest(_ message: String, code: String = "bad_request") -> APIError {
        APIError(status: .badRequest, code: code, message: message)
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response { response() }

    public func response() -> Response {
        var fields: HTTPFields = [.contentType: "application/json; charset=utf-8"]
        fields.append(contentsOf: headers)
        return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }

    /// The JSON body; encoding three strings cannot fail, so a failure is a programmer error.
    private var body: Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        do {
            return try encoder.encode(Body(error: code, message: message, attempts: attempts))
        } catch {
            preconditionFailure("cannot encode an error body: \(error)")
        }
    }

    private struct Body: Encodable {
        var error: String
        var message: String
        var attempts: [String]?
    }
}

/// Renders every error that leaves a handler through `mapping` (the binary's `APIError(mapping:)`): unexpected ones
/// (500) are logged at error level with the request's logger, which carries the request id, and their text never
/// reaches the client.
public struct APIErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let mapping: @Sendable (any Error) -> APIError

    public init(mapping: @escaping @Sendable (any Error) -> APIError) { self.mapping = mapping }

    public func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws
        -> Response
    {
        do {
            return try await next(request, context)
        } catch {
            let answer = mapping(error)
            if answer.status == .internalServerError {
                context.logger.error(
                    "request failed",
                    metadata: ["method": "\(request.method)", "path": "\(request.uri.path)", "error": "\(error)"])
            } else {
                context.logger.debug(
                    "request refused",
                    metadata: ["status": "\(answer.status.code)", "error": "\(answer.code)", "path": "\(request.uri.path)"])
            }
            return answer.response()
        }
    }
}

extension HTTPResponse.Status {
    /// 507 (RFC 4918), which HTTPTypes does not name.
    public static var insufficientStorage: Self { .init(code: 507, reasonPhrase: "Insufficient Storage") }
}
