/// What the verifier needs of an HTTP request, as it arrived (nothing decoded, nothing merged).
public struct S3SignedRequest: Sendable {
    public var method: String
    /// The path as on the wire: percent-encoded, without the query.
    public var rawPath: String
    /// Everything after `?` as on the wire; nil when the target has no `?`.
    public var rawQuery: String?
    /// The headers as received: names in any case, a name possibly repeated.
    public var headers: [(name: String, value: String)]
    /// The bucket when the host named it (virtual-host style): Signature Version 2 signs `/bucket` + the path.
    public var virtualHostedBucket: String?

    public init(
        method: String, rawPath: String, rawQuery: String?, headers: [(name: String, value: String)],
        virtualHostedBucket: String? = nil
    ) {
        self.method = method
        self.rawPath = rawPath
        self.rawQuery = rawQuery
        self.headers = headers
        self.virtualHostedBucket = virtualHostedBucket
    }

    /// The first value of a header; `name` is lower-case.
    func firstValue(of name: String) -> String? {
        headers.first { $0.name.lowercased() == name }?.value
    }

    /// Every value of a header, in order; `name` is lower-case.
    func values(of name: String) -> [String] {
        headers.filter { $0.name.lowercased() == name }.map(\.value)
    }
}
