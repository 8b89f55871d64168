import Crypto

/// How the request body is covered, from `x-amz-content-sha256` (or `UNSIGNED-PAYLOAD` for a presigned URL).
public enum S3PayloadMode: Sendable, Equatable {
    /// `UNSIGNED-PAYLOAD`: nothing to check beyond any `x-amz-checksum-*` or `Content-MD5`.
    case unsigned
    /// The body's SHA-256 (lower-case hex) was signed; the caller checks it once the body has arrived.
    case sha256(hex: String)
    /// `aws-chunked` with a signature per chunk (`STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]`).
    case streamingSigned(trailer: Bool)
    /// `aws-chunked` without chunk signatures (`STREAMING-UNSIGNED-PAYLOAD-TRAILER`).
    case streamingUnsigned(trailer: Bool)

    /// Parses an `x-amz-content-sha256` value; nil for anything S3 would refuse.
    public init?(contentSHA256 value: String) {
        switch value {
        case "UNSIGNED-PAYLOAD": self = .unsigned
        case "STREAMING-AWS4-HMAC-SHA256-PAYLOAD": self = .streamingSigned(trailer: false)
        case "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER": self = .streamingSigned(trailer: true)
        case "STREAMING-UNSIGNED-PAYLOAD-TRAILER": self = .streamingUnsigned(trailer: true)
        default:
            guard SigV4Canonical.isSHA256Hex(value) else { return nil }
            self = .sha256(hex: value.lowercased())
        }
    }

    /// Whether the body is `aws-chunked` framing rather than the object's bytes.
    public var isChunked: Bool {
        switch self {
        case .unsigned, .sha256: false
        case .streamingSigned, .streamingUnsigned: true
        }
    }

    /// Whether the body ends in a trailer section (`x-amz-trailer` names what it holds).
    public var hasTrailer: Bool {
        switch self {
        case .unsigned, .sha256: false
        case .streamingSigned(let trailer), .streamingUnsigned(let trailer): trailer
        }
    }
}

/// A request whose signature checked out: who sent it and what a chunked body's signatures must chain from.
public struct S3Authentication: Sendable, CustomStringConvertible {
    public var credential: S3Credential
    public var payload: S3PayloadMode
    /// The derived SigV4 key for this credential, date and region; it signs chunks and trailers.
    public var signingKey: SymmetricKey
    /// The request time as signed, `yyyyMMdd'T'HHmmss'Z'`.
    public var amzDate: String
    /// `yyyyMMdd/region/s3/aws4_request`.
    public var scope: String
    /// The request's own signature, which the first chunk signature chains from.
    public var seedSignature: String

    public init(
        credential: S3Credential, payload: S3PayloadMode, signingKey: SymmetricKey, amzDate: String, scope: String,
        seedSignature: String
    ) {
        self.credential = credential
        self.payload = payload
        self.signingKey = signingKey
        self.amzDate = amzDate
        self.scope = scope
        self.seedSignature = seedSignature
    }

    /// Names the key and the payload mode, never the secret or the signing key.
    public var description: String {
        "S3Authentication(\(credential), \(payload), \(scope))"
    }
}
