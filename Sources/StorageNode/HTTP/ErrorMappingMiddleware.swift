import Hummingbird
import Logging

/// Renders every error a handler throws as `{"error", "message"}` JSON via `APIError(mapping:)`.
///
/// Unexpected errors are logged here at error level (the request logger carries the request id) and
/// their text never reaches the client.
struct ErrorMappingMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response
    {
        do {
            return try await next(request, context)
        } catch {
            let answer = APIError(mapping: error)
            if answer.status == .internalServerError {
                context.logger.error(
                    "request failed",
                    metadata: ["method": "\(request.method)", "path": "\(request.uri.path)", "error": "\(error)"]
                )
            } else {
                context.logger.debug("request refused", metadata: ["status": "\(answer.status.code)", "error": "\(answer.code)"])
            }
            return answer.response()
        }
    }
}
