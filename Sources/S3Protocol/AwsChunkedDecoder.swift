import Crypto
import NIOCore

/// Decodes a `Content-Encoding: aws-chunked` body as it arrives, checking chunk and trailer signatures.
///
/// The framing is `hex-size[;chunk-signature=<hex>]\r\n<data>\r\n`, repeated, then a zero-size chunk, then for
/// trailer modes `name:value\r\n` lines (the signed variant ending in `x-amz-trailer-signature:<hex>\r\n`), then
/// `\r\n`. Input may be split anywhere. A signed chunk is held back until its signature checks out, so no byte of
/// a forged chunk is ever returned; unsigned chunks stream straight through. An empty line between the
/// zero-length chunk and the trailers, and a missing empty line after them, are tolerated: both occur in the wild.
public struct AwsChunkedDecoder: Sendable {
    /// The longest chunk header line accepted (a size and a signature take under 100 bytes).
    public static let maximumChunkHeaderLength = 4096
    /// The largest chunk accepted: a signed chunk is held in memory until its end, so this bounds memory per upload.
    public static let maximumChunkSize = 16 << 20
    /// The most bytes the trailer section may take.
    public static let maximumTrailerSectionLength = 16 << 10

    private enum State {
        case chunkHeader
        case chunkData(remaining: Int)
        /// The CR LF after a chunk's data; `matched` bytes of it seen.
        case chunkDataEnd(matched: Int)
        case trailerLine
        /// The CR LF ending a body without trailers.
        case finalLineEnd(matched: Int)
        case done
    }

    private let signature: AwsChunkedSignature?
    private let hasTrailer: Bool
    private let declaredDecodedLength: Int64?
    private let announcedTrailers: [String]

    private var state = State.chunkHeader
    private var line: [UInt8] = []
    private var previousSignature: String
    private var expectedChunkSignature = ""
    private var chunkHasher = SHA256()
    private var heldChunk: [ByteBuffer] = []
    private var decodedLength: Int64 = 0
    private var trailers: [String: String] = [:]
    private var canonicalTrailers = ""
    private var trailerSectionLength = 0
    private var trailerLineCount = 0
    private var hasVerifiedTrailerSignature = false
    /// An empty line right after the zero-length chunk either ends a body without trailers or, as some clients
    /// write it, precedes the trailers: which one, only the next bytes tell.
    private var mayStillReceiveTrailers = false

    /// - Parameters:
    ///   - mode: from `x-amz-content-sha256`; `.unsigned` and `.sha256` decode as unsigned chunks without trailers.
    ///   - authentication: required for `.streamingSigned`, and SigV4 (its key, scope and seed signature sign the
    ///     chunks).
    ///   - declaredDecodedLength: `x-amz-decoded-content-length`, checked against the decoded bytes.
    ///   - announcedTrailers: the lower-case names `x-amz-trailer` lists; other trailers are refused.
    public init(
        mode: S3PayloadMode, authentication: S3Authentication?, declaredDecodedLength: Int64?,
        announcedTrailers: [String]
    ) {
        switch mode {
        case .streamingSigned(let trailer):
            guard let seed = authentication?.chunkSigning else {
                preconditionFailure("a signed aws-chunked body needs the SigV4 S3Authentication of its request")
            }
            self.signature = AwsChunkedSignature(seed)
            self.previousSignature = seed.seedSignature
            self.hasTrailer = trailer
        case .streamingUnsigned(let trailer):
            self.signature = nil
            self.previousSignature = ""
            self.hasTrailer = trailer
        case .unsigned, .sha256:
            self.signature = nil
            self.previousSignature = ""
            self.hasTrailer = false
        }
        self.declaredDecodedLength = declaredDecodedLength
        self.announcedTrailers = announcedTrailers.map { $0.lowercased() }
    }

    /// Decodes what `buffer` completes; the slices returned share `buffer`'s storage.
    /// - Throws: `S3AuthError` (`SignatureDoesNotMatch` for a forged chunk, `InvalidRequest` for bad framing,
    ///   `IncompleteBody` when the data outgrows `x-amz-decoded-content-length`).
    public mutating func feed(_ buffer: ByteBuffer) throws -> [ByteBuffer] {
        var input = buffer
        var output: [ByteBuffer] = []
        while input.readableBytes > 0 {
            switch state {
            case .chunkHeader:
                guard let header = try readLine(from: &input, limit: Self.maximumChunkHeaderLength) else { break }
                try startChunk(header)
            case .chunkData(let remaining):
                let count = min(remaining, input.readableBytes)
                let slice = input.readSlice(length: count)!
                decodedLength += Int64(count)
                if let declaredDecodedLength, decodedLength > declaredDecodedLength {
                    throw S3AuthError.incompleteBody(
                        "The body holds more than the \(declaredDecodedLength) bytes of x-amz-decoded-content-length")
                }
                if signature == nil {
                    output.append(slice)
                } else {
                    slice.withUnsafeReadableBytes { chunkHasher.update(bufferPointer: $0) }
                    heldChunk.append(slice)
                }
                if remaining == count {
                    if signature != nil {
                        try verifyChunk(dataSHA256Hex: hexString(chunkHasher.finalize()))
                        output.append(contentsOf: heldChunk)
                        heldChunk.removeAll()
                    }
                    state = .chunkDataEnd(matched: 0)
                } else {
                    state = .chunkData(remaining: remaining - count)
                }
            case .chunkDataEnd(let matched):
                try expectLineEnd(&input, matched: matched) {
                    $0 ? .chunkHeader : .chunkDataEnd(matched: 1)
                }
            case .finalLineEnd(let matched):
                try expectLineEnd(&input, matched: matched) {
                    $0 ? .done : .finalLineEnd(matched: 1)
                }
            case .trailerLine:
                let budget = Self.maximumTrailerSectionLength - trailerSectionLength
                guard let trailerLine = try readLine(from: &input, limit: budget) else { break }
                trailerSectionLength += trailerLine.count + 2
                try acceptTrailerLine(trailerLine)
            case .done:
                guard mayStillReceiveTrailers else {
                    throw S3AuthError.invalidRequest("The aws-chunked body continues after its end")
                }
                mayStillReceiveTrailers = false
                state = .trailerLine
            }
        }
        return output
    }

    /// Call once the input has ended.
    /// - Returns: the trailers, by lower-case name.
    /// - Throws: `IncompleteBody` when the final chunk or the trailer section is missing, an announced trailer
    ///   did not come, or the decoded length differs from `x-amz-decoded-content-length`.
    public mutating func finish() throws -> [String: String] {
        switch state {
        case .done:
            break
        case .trailerLine where line.isEmpty && trailerLineCount > 0:
            break  // complete trailer lines without the closing empty line, as some clients send them
        case .trailerLine:
            throw S3AuthError.incompleteBody("The aws-chunked body ended inside its trailer section")
        default:
            throw S3AuthError.incompleteBody("The aws-chunked body ended before its final zero-length chunk")
        }
        if signature != nil, hasTrailer, !hasVerifiedTrailerSignature {
            throw S3AuthError.signatureDoesNotMatch("The signed trailer section has no x-amz-trailer-signature")
        }
        if let declaredDecodedLength, decodedLength != declaredDecodedLength {
            throw S3AuthError.incompleteBody(
                "The body holds \(decodedLength) bytes, not the \(declaredDecodedLength) of x-amz-decoded-content-length")
        }
        if let missing = announcedTrailers.first(where: { trailers[$0] == nil }) {
            throw S3AuthError.incompleteBody("The trailer \(missing) announced in x-amz-trailer did not arrive")
        }
        return trailers
    }

    // MARK: - Steps

    /// Consumes up to the next LF; returns the line without its CR LF once complete, nil if the input ran out.
    private mutating func readLine(from input: inout ByteBuffer, limit: Int) throws -> [UInt8]? {
        let view = input.readableBytesView
        let end = view.firstIndex(of: UInt8(ascii: "\n"))
        let taken = end.map { $0 - view.startIndex + 1 } ?? view.count
        guard line.count + taken <= limit + 2 else {
            throw S3AuthError.invalidRequest("An aws-chunked header or trailer line is longer than \(limit) bytes")
        }
        line.append(contentsOf: input.readBytes(length: taken)!)
        guard end != nil else { return nil }
        guard line.count >= 2, line[line.count - 2] == UInt8(ascii: "\r") else {
            throw S3AuthError.invalidRequest("An aws-chunked header or trailer line does not end in CR LF")
        }
        defer { line.removeAll(keepingCapacity: true) }
        return Array(line.dropLast(2))
    }

    private mutating func expectLineEnd(
        _ input: inout ByteBuffer, matched: Int, next: (_ isComplete: Bool) -> State
    ) throws {
        let expected = matched == 0 ? UInt8(ascii: "\r") : UInt8(ascii: "\n")
        guard input.readInteger(as: UInt8.self) == expected else {
            throw S3AuthError.invalidRequest("An aws-chunked chunk's data is not followed by CR LF")
        }
        state = next(matched == 1)
    }

    private mutating func startChunk(_ header: [UInt8]) throws {
        let text = String(decoding: header, as: UTF8.self)
        let parts = text.split(separator: ";", omittingEmptySubsequences: false)
        let sizeText = parts[0]
        guard (1...16).contains(sizeText.utf8.count), sizeText.allSatisfy(\.isHexDigit), let size = Int(sizeText, radix: 16)
        else {
            throw S3AuthError.invalidRequest("An aws-chunked chunk header does not start with a hex size")
        }
        guard size <= Self.maximumChunkSize else {
            throw S3AuthError.invalidRequest(
                "An aws-chunked chunk of \(size) bytes is larger than the \(Self.maximumChunkSize)-byte limit")
        }
        if signature != nil {
            let chunkSignature = parts.dropFirst().first { $0.hasPrefix("chunk-signature=") }?
                .dropFirst("chunk-signature=".count)
            guard let chunkSignature, SigV4Canonical.isSHA256Hex(chunkSignature) else {
                throw S3AuthError.signatureDoesNotMatch("A chunk of a signed aws-chunked body has no chunk-signature")
            }
            expectedChunkSignature = chunkSignature.lowercased()
        }
        if size > 0 {
            chunkHasher = SHA256()
            state = .chunkData(remaining: size)
            return
        }
        if signature != nil { try verifyChunk(dataSHA256Hex: SigV4Canonical.emptyPayloadHash) }
        state = hasTrailer ? .trailerLine : .finalLineEnd(matched: 0)
    }

    private mutating func verifyChunk(dataSHA256Hex: String) throws {
        guard let signature else { return }
        let computed = signature.chunk(previousSignature: previousSignature, dataSHA256Hex: dataSHA256Hex)
        guard SigV4Canonical.constantTimeEquals(computed, expectedChunkSignature) else {
            throw S3AuthError.signatureDoesNotMatch(
                "The chunk signature we calculated does not match the chunk-signature you provided.")
        }
        previousSignature = computed
    }

    private mutating func acceptTrailerLine(_ bytes: [UInt8]) throws {
        if bytes.isEmpty {
            mayStillReceiveTrailers = trailerLineCount == 0 && trailerSectionLength == 2
            state = .done
            return
        }
        trailerLineCount += 1
        let text = String(decoding: bytes, as: UTF8.self)
        guard let colon = text.firstIndex(of: ":") else {
            throw S3AuthError.invalidRequest("An aws-chunked trailer line is not of the form name:value")
        }
        let name = text[..<colon].trimmingWhitespace().lowercased()
        let value = String(text[text.index(after: colon)...].trimmingWhitespace())
        if hasVerifiedTrailerSignature {
            throw S3AuthError.invalidRequest("Trailers follow the x-amz-trailer-signature")
        }
        if name == "x-amz-trailer-signature" {
            guard let signature else {
                throw S3AuthError.invalidRequest("An unsigned aws-chunked body carries an x-amz-trailer-signature")
            }
            let computed = signature.trailer(previousSignature: previousSignature, canonicalTrailers: canonicalTrailers)
            guard SigV4Canonical.constantTimeEquals(computed, value.lowercased()) else {
                throw S3AuthError.signatureDoesNotMatch(
                    "The trailer signature we calculated does not match the x-amz-trailer-signature you provided.")
            }
            hasVerifiedTrailerSignature = true
            return
        }
        guard announcedTrailers.contains(name) else {
            throw S3AuthError.invalidRequest("The trailer \(name) was not announced in x-amz-trailer")
        }
        guard trailers[name] == nil else { throw S3AuthError.invalidRequest("The trailer \(name) appears twice") }
        trailers[name] = value
        canonicalTrailers += "\(name):\(value)\n"
    }
}
