import AsyncHTTPClient
import DFSCore
import Foundation
import NIOCore
import NIOHTTP1

/// `dfs get`: streams `/download/{key}` to a file (or stdout) while hashing it, and keeps the file only if
/// the length and the gateway's announced SHA-256 (`X-Checksum-SHA256` or the ETag) match.
struct FileDownload {
    let key: FileKey
    /// `-o`: a path, a folder to put the file in, `-` for stdout, or nil for the name the gateway suggests.
    let output: String?
    let replacesExisting: Bool

    struct Result {
        let destination: String
        let size: Int64
        let digest: SHA256Digest
        let isVerified: Bool
    }

    func run(with client: GatewayClient) async throws -> Result {
        let request = HTTPClientRequest(url: client.baseURL + "/download/" + GatewayClient.encode(key.rawValue))
        let response = try await client.transfer(request)
        guard response.status == .ok else { throw try await client.rejection(from: response) }

        let expectedLength = response.headers.first(name: "Content-Length").flatMap { Int64($0) }
        let expectedDigest = Self.announcedDigest(in: response.headers)
        let suggestedName = response.headers.first(name: "Content-Disposition").flatMap(ContentDisposition.filename(in:))
        let (chosenTarget, isNamedByUser) = target(suggestedName: suggestedName)
        let destination = try DownloadDestination(chosenTarget, replacing: replacesExisting || isNamedByUser)

        let progress = TransferProgress(label: "get", totalBytes: expectedLength)
        var hasher = StreamingSHA256()
        do {
            for try await chunk in response.body {
                try destination.write(chunk)
                hasher.update(chunk)
                progress.advance(by: chunk.readableBytes)
            }
        } catch let error as LocalFileError {
            progress.abandon()
            destination.discard()
            throw error
        } catch {
            progress.abandon()
            destination.discard()
            if let expectedLength, hasher.byteCount < expectedLength, Self.isEarlyEnd(error) {
                throw IntegrityError.downloadLengthMismatch(
                    expected: expectedLength, actual: hasher.byteCount, wentToStandardOutput: chosenTarget == .standardOutput)
            }
            throw client.describeTransferFailure(error)
        }
        progress.finish()

        let digest = hasher.finalize()
        if let expectedLength, expectedLength != hasher.byteCount {
            destination.discard()
            throw IntegrityError.downloadLengthMismatch(
                expected: expectedLength, actual: hasher.byteCount, wentToStandardOutput: chosenTarget == .standardOutput)
        }
        if let expectedDigest, expectedDigest != digest.hex {
            destination.discard()
            throw IntegrityError.downloadDigestMismatch(
                expected: expectedDigest, actual: digest, wentToStandardOutput: chosenTarget == .standardOutput)
        }
        try destination.commit()
        return Result(
            destination: destination.displayName, size: hasher.byteCount, digest: digest, isVerified: expectedDigest != nil)
    }

    /// Where to write, and whether the user named that exact file (then it may be replaced).
    private func target(suggestedName: String?) -> (DownloadDestination.Target, isNamedByUser: Bool) {
        let defaultName = suggestedName ?? key.rawValue
        guard let output else { return (.file(defaultName), false) }
        if output == "-" { return (.standardOutput, true) }
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: output, isDirectory: &isDirectory), isDirectory.boolValue {
            return (.file((output as NSString).appendingPathComponent(defaultName)), false)
        }
        return (.file(output), true)
    }

    /// The connection ended before the announced length arrived (as opposed to a stall or a timeout): said as a
    /// short download, not as an HTTP parser's words.
    private static func isEarlyEnd(_ error: any Error) -> Bool {
        if let parserError = error as? HTTPParserError, parserError == .invalidEOFState { return true }
        if let clientError = error as? HTTPClientError, clientError == .remoteConnectionClosed { return true }
        return false
    }

    /// A 64-hex-digit SHA-256 from `X-Checksum-SHA256`, else from the ETag (quotes and `W/` stripped).
    static func announcedDigest(in headers: HTTPHeaders) -> String? {
        let candidates = [headers.first(name: "X-Checksum-SHA256"), headers.first(name: "ETag")].compactMap { $0 }
        for candidate in candidates {
            var value = candidate.trimmingCharacters(in: .whitespaces)
            if value.hasPrefix("W/") { value.removeFirst(2) }
            value = value.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            if let digest = SHA256Digest(hex: value) { return digest.hex }
        }
        return nil
    }
}
