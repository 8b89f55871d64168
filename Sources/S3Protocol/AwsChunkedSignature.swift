import Crypto

/// The signatures of an `aws-chunked` body: each chunk's, then the trailer's, chained from the request's own.
struct AwsChunkedSignature: Sendable {
    let key: SymmetricKey
    let amzDate: String
    let scope: String

    init(key: SymmetricKey, amzDate: String, scope: String) {
        self.key = key
        self.amzDate = amzDate
        self.scope = scope
    }

    init(_ seed: ChunkSigningSeed) {
        self.init(key: seed.signingKey, amzDate: seed.amzDate, scope: seed.scope)
    }

    /// `AWS4-HMAC-SHA256-PAYLOAD`: the previous signature, an empty-header hash, and the chunk's SHA-256.
    func chunk(previousSignature: String, dataSHA256Hex: String) -> String {
        let stringToSign = [
            "AWS4-HMAC-SHA256-PAYLOAD", amzDate, scope, previousSignature, SigV4Canonical.emptyPayloadHash,
            dataSHA256Hex,
        ].joined(separator: "\n")
        return SigV4Canonical.signature(stringToSign, key: key)
    }

    /// `AWS4-HMAC-SHA256-TRAILER`: the previous signature and the SHA-256 of the `name:value\n` trailer lines.
    func trailer(previousSignature: String, canonicalTrailers: String) -> String {
        let stringToSign = [
            "AWS4-HMAC-SHA256-TRAILER", amzDate, scope, previousSignature,
            SigV4Canonical.sha256Hex(canonicalTrailers.utf8),
        ].joined(separator: "\n")
        return SigV4Canonical.signature(stringToSign, key: key)
    }
}
