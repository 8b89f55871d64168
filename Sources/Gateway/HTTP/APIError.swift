import DFSCore
import Foundation
import Hummingbird
import NIOCore

/// An error as the client sees it: status plus the JSON `{"error", "message"}` every client of the prototype parses.
struct APIError: Error, HTTPResponseError, Sendable {
    var status: HTTPResponse.Status
    var code: String
    var message: String
    /// Extra machine-readable detail (e.g. the nodes tried for a 503).
    var attempts: [String]? = nil
    /// Extra response headers, such as `WWW-Authenticate` on a 401.
    var headers: HTTPFields = [:]

    func response(from request: Request, context: some RequestContext) throws -> Response {
        let data = try JSONEncoder().encode(APIErrorBody(error: code, message: message, attempts: attempts))
        var fields: HTTPFields = [.contentType: "application/json; charset=utf-8"]
        fields.append(contentsOf: headers)
        return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func badRequest(_ message: String, code: String = "bad_request") -> APIError {
        APIError(status: .badRequest, code: code, message: message)
    }
}

/// Renders every error that leaves a handler as that JSON, logging unknown ones with the request id.
struct APIErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response
    {
        do {
            return try await next(request, context)
        } catch {
            let apiError = APIError(mapping: error)
            if apiError.status == .internalServerError {
                context.logger.error("request failed", metadata: ["error": "\(error)", "path": "\(request.uri.path)"])
            } else {
                context.logger.debug("request refused", metadata: ["error": "\(apiError.code)", "path": "\(request.uri.path)"])
            }
            return try apiError.response(from: request, context: context)
        }
    }
}

private struct APIErrorBody: Encodable {
    var error: String
    var message: String
    var attempts: [String]?
}
