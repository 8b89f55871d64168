import DFSCore
import DFSMetadata
import Foundation
import NIOCore
import S3Protocol
import Synchronization

/// What an upload's body must prove once it has been read to the end: `Content-MD5`, the `x-amz-checksum-*` the
/// client sent as a header or announced as a trailer, and the signed SHA-256 of the payload (which the upload
/// path checks itself).
struct S3BodyExpectations: Sendable {
    var contentMD5: [UInt8]?
    /// Algorithm -> base64 value from a header; nil for a checksum that comes as a trailer.
    var checksums: [S3ChecksumAlgorithm: String?] = [:]
    /// Also computed and recorded, with nothing to check it against: the algorithm a multipart upload announced,
    /// for a part sent without it, or a copy's of a composite checksum (which no byte of the copy can prove).
    var computed: Set<S3ChecksumAlgorithm> = []
    var payloadSHA256: SHA256Digest?
    var mode: S3PayloadMode
    var decodedLength: Int64?
    var announcedTrailers: [String] = []

    /// Forgets the checksums sent as headers (trailers stay: they can only describe the body).
    mutating func dropHeaderChecksums() {
        checksums = checksums.filter { $0.value == nil }
    }

    /// A copied range of a stored object (UploadPartCopy): its bytes were verified as they were read, so only their
    /// length is checked here; the upload's announced checksum is computed for the part.
    init(copiedLength: Int64, computing algorithm: S3ChecksumAlgorithm?) {
        mode = .unsigned
        decodedLength = copiedLength
        if let algorithm { computed.insert(algorithm) }
    }

    /// A copy's bytes: the source's checksums must hold again, which proves the copy read what was stored.
    init(copyOf object: S3ObjectRecord) {
        mode = .unsigned
        decodedLength = object.sizeBytes
        for (name, value) in object.checksums {
            guard let algorithm = S3ChecksumAlgorithm(rawValue: name) else { continue }
            if S3ChecksumType(ofValue: value) == .composite {
                computed.insert(algorithm)
            } else {
                checksums[algorithm] = .some(value)
            }
        }
    }

    /// Reads the headers of a PUT or UploadPart; `required` is the algorithm of the multipart upload a part belongs
    /// to: a part with another algorithm is refused, one with none gets it computed.
    init(_ request: S3Request, mode: S3PayloadMode, required: S3ChecksumAlgorithm? = nil) throws {
        self.mode = mode
        if let md5 = request.header("content-md5") {
            guard let bytes = Data(base64Encoded: md5), bytes.count == 16 else {
                throw S3Error("InvalidDigest", "The Content-MD5 you specified was invalid.", status: .badRequest)
            }
            contentMD5 = Array(bytes)
        }
        for algorithm in S3ChecksumAlgorithm.allCases {
            if let value = request.header(algorithm.headerName) { checksums[algorithm] = .some(value) }
        }
        if let trailer = request.header("x-amz-trailer") {
            announcedTrailers = trailer.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            for name in announcedTrailers {
                guard let algorithm = S3ChecksumAlgorithm(headerName: name) else {
                    throw S3Error.invalidArgument("the trailer \(name) is not a checksum SwiftDFS knows")
                }
                checksums[algorithm] = .some(nil)
            }
        }
        if checksums.count > 1 {
            throw S3Error.invalidRequest("Expecting a single x-amz-checksum- header. Multiple checksum types are not allowed.")
        }
        if let required {
            if let sent = checksums.keys.first, sent != required {
                throw S3Error.invalidRequest(
                    "Checksum Type mismatch occurred, expected checksum Type: \(required.rawValue.lowercased()), actual checksum Type: \(sent.rawValue.lowercased())"
                )
            }
            if checksums.isEmpty { computed.insert(required) }
        }
        if case .sha256(let hex) = mode { payloadSHA256 = SHA256Digest(hex: hex) }
        if mode.isChunked {
            guard let text = request.header("x-amz-decoded-content-length"), let length = Int64(text), length >= 0 else {
                throw S3Error(
                    "MissingContentLength", "An aws-chunked body needs x-amz-decoded-content-length.",
                    status: .lengthRequired)
            }
            decodedLength = length
        } else if let text = request.header("content-length") {
            decodedLength = Int64(text)
        }
    }
}

/// What the body turned out to be, filled in as it is read: its MD5 (the ETag), the checksums verified, or why
/// it was refused.
final class S3BodyReceipt: Sendable {
    struct Contents: Sendable {
        var md5: [UInt8] = []
        var checksums: [String: String] = [:]
        var length: Int64 = 0
        var refusal: S3Error?
    }

    private let contents = Mutex(Contents())

    var value: Contents { contents.withLock { $0 } }
    fileprivate func update(_ body: (inout Contents) -> Void) { contents.withLock { body(&$0) } }
}

/// An upload's bytes as the object will hold them: `aws-chunked` framing decoded (and its signatures checked),
/// MD5 and the requested checksums computed on the way, and every expectation checked when the body ends; a
/// mismatch throws there, before the upload path records anything.
struct S3IncomingBody<Base: AsyncSequence & Sendable>: AsyncSequence, Sendable where Base.Element == ByteBuffer {
    typealias Element = ByteBuffer
    let base: Base
    var expectations: S3BodyExpectations
    /// The request's, for chunk signatures; nil for bytes that come from a stored object (a copy).
    let authentication: S3Authentication?
    let receipt: S3BodyReceipt

    func makeAsyncIterator() -> Iterator {
        Iterator(
            base: base.makeAsyncIterator(), expectations: expectations, receipt: receipt,
            decoder: expectations.mode.isChunked
                ? AwsChunkedDecoder(
                    mode: expectations.mode, authentication: authentication, declaredDecodedLength: expectations.decodedLength,
                    announcedTrailers: expectations.announcedTrailers) : nil,
            digests: BodyDigests(
                checksummers: Set(expectations.checksums.keys).union(expectations.computed).map(S3Checksummer.init),
                length: expectations.decodedLength))
    }

    struct Iterator: AsyncIteratorProtocol {
        var base: Base.AsyncIterator
        let expectations: S3BodyExpectations
        let receipt: S3BodyReceipt
        var decoder: AwsChunkedDecoder?
        var digests: BodyDigests
        var length: Int64 = 0
        var pending: [ByteBuffer] = []
        var ended = false
        /// Once refused, the body stays refused: a reader that asks again gets the same answer, not what the
        /// decoder makes of the rest.
        var failure: S3Error?

        mutating func next() async throws -> ByteBuffer? {
            if let failure { throw failure }
            while pending.isEmpty {
                if ended { return nil }
                guard let chunk = try await base.next() else {
                    ended = true
                    try await finish()
                    return nil
                }
                if decoder == nil {
                    pending = [chunk]
                } else {
                    do {
                        pending = try decoder!.feed(chunk)
                    } catch let error as S3AuthError {
                        throw refuse(S3Error(error))
                    }
                }
                pending.removeAll { $0.readableBytes == 0 }
            }
            let chunk = pending.removeFirst()
            await digests.feed(chunk)
            length += Int64(chunk.readableBytes)
            return chunk
        }

        private mutating func finish() async throws {
            var trailers: [String: String] = [:]
            if decoder != nil {
                do {
                    trailers = try decoder!.finish()
                } catch let error as S3AuthError {
                    throw refuse(S3Error(error))
                }
            }
            let (digest, checksummers) = await digests.finish()
            if let expected = expectations.contentMD5, expected != digest {
                throw refuse(S3Error.badDigest("The Content-MD5 you specified did not match what we received."))
            }
            var verified: [String: String] = [:]
            for checksummer in checksummers {
                let algorithm = checksummer.algorithm
                let computed = checksummer.finalize()
                guard let announced = expectations.checksums[algorithm] else {
                    verified[algorithm.rawValue] = computed
                    continue
                }
                guard let expected = announced ?? trailers[algorithm.headerName] else {
                    throw refuse(S3Error.invalidRequest("the announced trailer \(algorithm.headerName) did not arrive"))
                }
                guard expected == computed else {
                    throw refuse(
                        S3Error.badDigest(
                            "The \(algorithm.rawValue) you specified did not match the calculated checksum."))
                }
                verified[algorithm.rawValue] = computed
            }
            if let declared = expectations.decodedLength, declared != length {
                throw refuse(
                    S3Error(
                        "IncompleteBody", "You did not provide the number of bytes specified by the Content-Length HTTP header.",
                        status: .badRequest))
            }
            receipt.update {
                $0.md5 = digest
                $0.checksums = verified
                $0.length = length
            }
        }

        private mutating func refuse(_ error: S3Error) -> S3Error {
            failure = error
            receipt.update { $0.refusal = $0.refusal ?? error }
            return error
        }
    }
}

/// MD5 and the requested checksums of an upload's bytes: in the request's own task for a body known to be small, on
/// a task of their own for a larger one or one of unknown length. A task and a hand-off per chunk cost more than
/// hashing a few MiB where they arrive; beyond that, MD5 (no hardware help, a third of the gateway's CPU on 64 MiB
/// objects) would double the time each chunk spends in the request's task.
struct BodyDigests: Sendable {
    /// The largest body hashed where it arrives.
    static let inlineLimit: Int64 = 4 << 20

    /// The hashes of a small body, or nil when `parallel` computes them.
    private var inline: BodyHashes?
    private let parallel: ParallelDigests?

    init(checksummers: [S3Checksummer], length: Int64?) {
        let isSmall = length.map { $0 <= Self.inlineLimit } ?? false
        inline = isSmall ? BodyHashes(checksummers: checksummers) : nil
        parallel = isSmall ? nil : ParallelDigests(checksummers: checksummers)
    }

    mutating func feed(_ chunk: ByteBuffer) async {
        if let parallel { return await parallel.feed(chunk) }
        inline?.update(chunk)
    }

    /// The MD5 and the checksummers once every byte fed has been hashed.
    func finish() async -> ([UInt8], [S3Checksummer]) {
        if let parallel { return await parallel.finish() }
        return inline!.finish()
    }
}

/// MD5 and the requested checksums of a body, updated chunk by chunk.
struct BodyHashes: Sendable {
    private var md5 = S3MD5()
    private var checksummers: [S3Checksummer]

    init(checksummers: [S3Checksummer]) { self.checksummers = checksummers }

    mutating func update(_ chunk: ByteBuffer) {
        md5.update(chunk)
        for index in checksummers.indices { checksummers[index].update(chunk) }
    }

    func finish() -> ([UInt8], [S3Checksummer]) { (md5.finalize(), checksummers) }
}

/// MD5 and the checksums computed on a task of their own beside the upload path's SHA-256. At most `bufferLimit`
/// bytes wait for it; the body pauses beyond.
final class ParallelDigests: Sendable {
    private let input: AsyncStream<ByteBuffer>.Continuation
    private let result: Task<([UInt8], [S3Checksummer]), Never>
    /// Bytes fed and not yet hashed.
    private let waiting = ByteCounter()
    private let bufferLimit: Int

    init(checksummers: [S3Checksummer], bufferLimit: Int = 8 << 20) {
        let (stream, input) = AsyncStream.makeStream(of: ByteBuffer.self)
        self.input = input
        self.bufferLimit = bufferLimit
        let waiting = self.waiting
        result = Task {
            var hashes = BodyHashes(checksummers: checksummers)
            for await chunk in stream {
                hashes.update(chunk)
                waiting.value.subtract(chunk.readableBytes, ordering: .relaxed)
            }
            return hashes.finish()
        }
    }

    deinit { input.finish() }

    func feed(_ chunk: ByteBuffer) async {
        while waiting.value.load(ordering: .relaxed) > bufferLimit { try? await Task.sleep(for: .milliseconds(1)) }
        waiting.value.add(chunk.readableBytes, ordering: .relaxed)
        input.yield(chunk)
    }

    /// The MD5 and the checksummers once every byte fed has been hashed.
    func finish() async -> ([UInt8], [S3Checksummer]) {
        input.finish()
        return await result.value
    }
}

private final class ByteCounter: Sendable {
    let value = Atomic<Int>(0)
}
