import DFSClient
import DFSCore
import NIOCore

/// Turns a client's upload body — multipart/form-data with a `file` field, or raw bytes — into the file's
/// bytes, hashing them (whole and per block) and enforcing the size cap as they pass. Nothing is buffered beyond the chunk at hand.
///
/// Not thread-safe: one task reads it at a time (the handler while preparing, then the single node request
/// that streams it), which is what makes the `@unchecked Sendable` of `ReplayableUploadBody` sound.
final class UploadBodyReader {
    enum Format: Equatable {
        case raw
        case multipart(boundary: String)
    }

    private enum MultipartState {
        case searchingFilePart
        case inFilePart
        case filePartDone
    }

    private var body: AnyByteStream.AsyncIterator
    private let format: Format
    private let maxSize: Int64
    private var parser: MultipartStreamParser?
    private var state = MultipartState.searchingFilePart
    private var currentPartIsFile = false
    private var pending: [ByteBuffer] = []
    private var bodyEnded = false
    private var hasher = BlobHasher()
    private var parseError: String?

    /// From the multipart part's `filename`, else given by the caller (`?filename=`).
    private(set) var filename: String?
    /// True once any file byte has been handed on: after that a failed node request cannot be retried.
    private(set) var hasDeliveredBytes = false

    init(body: AnyByteStream, format: Format, maxSize: Int64, filename: String?) {
        self.body = body.makeAsyncIterator()
        self.format = format
        self.maxSize = maxSize
        self.filename = filename
        if case .multipart(let boundary) = format {
            self.parser = MultipartStreamParser(boundary: boundary)
        }
    }

    var byteCount: Int64 { hasher.byteCount }
    var digest: SHA256Digest { hasher.wholeDigest }
    /// The whole digest and the block digests of the file's bytes so far (all of them once the body ended).
    var digests: BlobDigests { hasher.finalize() }

    /// Reads up to the start of the file's bytes, so a missing `file` field is refused before any node is
    /// contacted.
    func prepare() async throws {
        guard case .multipart = format else { return }
        while state == .searchingFilePart {
            guard try await feedNextChunk() else { throw UploadError.missingFileField }
        }
    }

    /// The next chunk of file bytes, or nil at the end of the file.
    func nextFileChunk() async throws -> ByteBuffer? {
        while true {
            if !pending.isEmpty {
                let chunk = pending.removeFirst()
                hasher.update(chunk)
                hasDeliveredBytes = true
                if hasher.byteCount > maxSize { throw UploadError.payloadTooLarge(limit: maxSize) }
                return chunk
            }
            switch format {
            case .raw:
                if bodyEnded { return nil }
                _ = try await feedNextChunk()
            case .multipart:
                if state == .filePartDone { return nil }
                guard try await feedNextChunk() else {
                    throw UploadError.malformedMultipart("the body ended inside the file part")
                }
            }
        }
    }

    /// Reads and discards what follows the file part (the closing boundary), bounded by the size cap.
    func drainRemainder() async throws {
        var drained: Int64 = 0
        while !bodyEnded, let chunk = try await nextRawChunk() {
            drained += Int64(chunk.readableBytes)
            if drained > 1 << 20 { throw UploadError.malformedMultipart("more than 1 MiB after the file part") }
            if parser != nil { _ = try parse(chunk) }
        }
    }

    private func nextRawChunk() async throws -> ByteBuffer? {
        do {
            guard let chunk = try await body.next() else {
                bodyEnded = true
                return nil
            }
            return chunk
        } catch let error as UploadError {
            throw error
        } catch {
            throw UploadError.bodyInterrupted("\(error)")
        }
    }

    /// Pulls one chunk from the client; returns false at the end of the body.
    private func feedNextChunk() async throws -> Bool {
        guard let chunk = try await nextRawChunk() else { return false }
        switch format {
        case .raw:
            if chunk.readableBytes > 0 { pending.append(chunk) }
        case .multipart:
            for event in try parse(chunk) {
                switch event {
                case .partHeaders(let headers):
                    currentPartIsFile = false
                    guard state == .searchingFilePart else { continue }
                    let parameters = ContentDisposition.parameters(headers["content-disposition"] ?? "")
                    if parameters["name"] == "file" {
                        currentPartIsFile = true
                        state = .inFilePart
                        if let name = parameters["filename"] {
                            do {
                                filename = try OriginalFilename(validating: name).rawValue
                            } catch {
                                throw UploadError.invalidFilename("the file part's \(error.description)")
                            }
                        }
                    }
                case .body(let bytes):
                    if currentPartIsFile { pending.append(bytes) }
                case .partEnd:
                    if currentPartIsFile { state = .filePartDone }
                    currentPartIsFile = false
                }
            }
        }
        return true
    }

    private func parse(_ chunk: ByteBuffer) throws -> [MultipartStreamParser.Event] {
        do {
            return try parser!.feed(chunk)
        } catch {
            throw UploadError.malformedMultipart("the multipart body does not parse (\(error))")
        }
    }
}

/// Parses `form-data; name="file"; filename="a b.txt"` into its parameters (names lower-cased).
enum ContentDisposition {
    static func parameters(_ header: String) -> [String: String] {
        var result: [String: String] = [:]
        let characters = Array(header)
        var index = characters.firstIndex(of: ";") ?? characters.endIndex
        while index < characters.endIndex {
            index += 1  // past ';'
            while index < characters.endIndex, characters[index] == " " { index += 1 }
            var name = ""
            while index < characters.endIndex, characters[index] != "=", characters[index] != ";" {
                name.append(characters[index])
                index += 1
            }
            guard index < characters.endIndex, characters[index] == "=" else { continue }
            index += 1
            var value = ""
            if index < characters.endIndex, characters[index] == "\"" {
                // Quoted: may contain ';', backslash escapes the next character.
                index += 1
                while index < characters.endIndex, characters[index] != "\"" {
                    if characters[index] == "\\", index + 1 < characters.endIndex { index += 1 }
                    value.append(characters[index])
                    index += 1
                }
                index += 1  // past the closing quote
                while index < characters.endIndex, characters[index] != ";" { index += 1 }
            } else {
                while index < characters.endIndex, characters[index] != ";" {
                    value.append(characters[index])
                    index += 1
                }
                value = value.trimmingCharacters(in: .whitespaces)
            }
            result[name.trimmingCharacters(in: .whitespaces).lowercased()] = value
        }
        return result
    }
}

import Foundation
