import Crypto
import Foundation

extension SigV4Signer {
    /// A signed `aws-chunked` body, as AWS SDKs frame it, with its chunk signatures chained from `seedSignature`.
    /// - Parameters:
    ///   - seedSignature: the `Signature=` of the request's `authorization` header, signed with a
    ///     `STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]` payload hash at the same `date`.
    ///   - trailers: nil for no trailer section (`…-PAYLOAD`); otherwise the trailers, signed (`…-PAYLOAD-TRAILER`).
    public func signedChunkedBody(
        chunks: [[UInt8]], seedSignature: String, date: Date, trailers: [(name: String, value: String)]? = nil
    ) -> [UInt8] {
        let timestamp = AmzTimestamp(date)
        let signature = AwsChunkedSignature(key: signingKey(timestamp), amzDate: timestamp.basic, scope: scope(timestamp))
        var previous = seedSignature
        var body: [UInt8] = []
        for chunk in chunks.filter({ !$0.isEmpty }) + [[]] {
            previous = signature.chunk(
                previousSignature: previous, dataSHA256Hex: SigV4Canonical.sha256Hex(chunk))
            body += Array("\(String(chunk.count, radix: 16));chunk-signature=\(previous)\r\n".utf8)
            if !chunk.isEmpty { body += chunk + Array("\r\n".utf8) }
        }
        guard let trailers else { return body + Array("\r\n".utf8) }
        let canonicalTrailers = trailers.map { "\($0.name.lowercased()):\($0.value)\n" }.joined()
        let trailerSignature = signature.trailer(previousSignature: previous, canonicalTrailers: canonicalTrailers)
        let section = trailers.map { "\($0.name.lowercased()):\($0.value)\r\n" }.joined()
        return body + Array((section + "x-amz-trailer-signature:\(trailerSignature)\r\n\r\n").utf8)
    }

    /// An unsigned `aws-chunked` body with a trailer section (`STREAMING-UNSIGNED-PAYLOAD-TRAILER`).
    public static func unsignedChunkedBody(chunks: [[UInt8]], trailers: [(name: String, value: String)]) -> [UInt8] {
        var body: [UInt8] = []
        for chunk in chunks where !chunk.isEmpty {
            body += Array("\(String(chunk.count, radix: 16))\r\n".utf8) + chunk + Array("\r\n".utf8)
        }
        let section = trailers.map { "\($0.name.lowercased()):\($0.value)\r\n" }.joined()
        return body + Array(("0\r\n" + section + "\r\n").utf8)
    }
}
