import Foundation

/// A whole HTTP answer as tests look at it.
public struct TestResponse: Sendable, CustomStringConvertible {
    public let status: Int
    public let headers: [(name: String, value: String)]
    public let body: [UInt8]

    /// The first value of a header, compared case-insensitively.
    public func header(_ name: String) -> String? {
        headers.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
    }

    public var text: String { String(decoding: body, as: UTF8.self) }

    public func json<T: Decodable>(_ type: T.Type = T.self) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(body))
    }

    /// The body as a JSON object, for quick looks at a field (`response.jsonObject()["file_id"]`).
    public func jsonObject() throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else {
            throw UnexpectedResponse(response: self, expectation: "a JSON object")
        }
        return object
    }

    /// The body as a JSON array of objects (`GET /nodes`).
    public func jsonArray() throws -> [[String: Any]] {
        guard let array = try JSONSerialization.jsonObject(with: Data(body)) as? [[String: Any]] else {
            throw UnexpectedResponse(response: self, expectation: "a JSON array of objects")
        }
        return array
    }

    /// Self if 2xx; else throws with the status and body, so a failing test shows the gateway's message.
    @discardableResult
    public func expectingSuccess() throws -> TestResponse {
        guard (200..<300).contains(status) else { throw UnexpectedResponse(response: self, expectation: "a 2xx status") }
        return self
    }

    public var description: String { "HTTP \(status): \(text.prefix(500))" }
}

/// An answer that was not what the test needed.
public struct UnexpectedResponse: Error, CustomStringConvertible {
    public let response: TestResponse
    public let expectation: String

    public var description: String { "expected \(expectation), got \(response)" }
}
