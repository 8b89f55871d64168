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

/// A request whose signature checked out: who sent it and, for SigV4, what a chunked body's signatures chain from.
public struct S3Authentication: Sendable, CustomStringConvertible {
    public var credential: S3Credential
    public var payload: S3PayloadMode
    /// What signs an `aws-chunked` body's chunks and trailer; nil for Signature Version 2, which signs no body.
    public var chunkSigning: ChunkSigningSeed?

    /// A SigV4 request.
    public init(
        credential: S3Credential, payload: S3PayloadMode, signingKey: SymmetricKey, amzDate: String, scope: String,
        seedSignature: String
    ) {
        self.credential = credential
        self.payload = payload
        self.chunkSigning = ChunkSigningSeed(
            signingKey: signingKey, amzDate: amzDate, scope: scope, seedSignature: seedSignature)
    }

    /// A Signature Version 2 request: its body is covered by `Content-MD5` or a hex `x-amz-content-sha256` at most.
    public init(signatureVersion2 credential: S3Credential, payload: S3PayloadMode) {
        self.credential = credential
        self.payload = payload
        self.chunkSigning = nil
    }

    /// Names the key and the payload mode, never the secret or the signing key.
    public var description: String {
        "S3Authentication(\(credential), \(payload), \(chunkSigning?.scope ?? "Signature Version 2"))"
    }
}

/// A SigV4 request's derived key, time, scope and own signature: the first chunk signature chains from it.
public struct ChunkSigningSeed: Sendable {
    /// The derived SigV4 key for this credential, date and region; it signs chunks and trailers.
    public var signingKey: SymmetricKey
    /// The request time as signed, `yyyyMMdd'T'HHmmss'Z'`.
    public var amzDate: String
    /// `yyyyMMdd/region/s3/aws4_request`.
    public var scope: String
    /// The request's own signature.
    public var seedSignature: String
}
