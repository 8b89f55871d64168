import Foundation
import Hummingbird

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
