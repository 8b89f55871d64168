import DFSCore
import Foundation
import HTTPTypes
import Hummingbird

/// An error answer: status, stable snake_case code and a sentence, rendered as `ErrorBody` JSON.
struct APIError: HTTPResponseError, Sendable, Equatable {
    var status: HTTPResponse.Status
    var code: String
    var message: String
    /// Extra headers, such as `Content-Range: bytes */size` on a 416.
    var headers: HTTPFields = [:]

    init(_ status: HTTPResponse.Status, _ code: String, _ message: String, headers: HTTPFields = [:]) {
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers
    }

    static func badRequest(_ code: String, _ message: String) -> APIError { APIError(.badRequest, code, message) }

    func response(from request: Request, context: some RequestContext) throws -> Response { response() }

    func response() -> Response {
        var response = Response.json(ErrorBody(error: code, message: message), status: status)
        response.headers.append(contentsOf: headers)
        return response
    }
}

extension Response {
    /// A JSON answer; encoding our own wire types cannot fail, so a failure is a programmer error.
    static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data: Data
        do {
            data = try encoder.encode(value)
        } catch {
            preconditionFailure("cannot encode \(type(of: value)): \(error)")
        }
        return Response(
            status: status,
            headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: data))
        )
    }
}

extension HTTPResponse.Status {
    /// 507 (RFC 4918), which HTTPTypes does not name.
    static var insufficientStorage: Self { .init(code: 507, reasonPhrase: "Insufficient Storage") }
}
