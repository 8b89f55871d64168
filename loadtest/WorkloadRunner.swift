import AsyncHTTPClient
import DFSCore
import Foundation
import NIOCore
import S3Protocol
import Synchronization

/// What the tool does per operation.
enum WorkloadKind: String, CaseIterable, Sendable {
    case upload, download, mixed
}

/// What kind of server the tool drives: a SwiftDFS gateway, or a plain WebDAV server (nginx) for a one-copy
/// baseline that gets the identical workload.
enum TargetKind: String, CaseIterable, Sendable {
    /// `POST /upload?filename=` with a raw body, `GET /download/{file_key}`.
    case gateway
    /// `PUT <url>/<name>`, `GET <url>/<name>`.
    case webdav
    /// The gateway's S3 API: the URL names the bucket (`http://127.0.0.1:9000/BUCKET`); `PUT`/`GET` of objects signed
    /// with SigV4 (`UNSIGNED-PAYLOAD`, as rclone sends) with `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`.
    case s3
}

/// When the run ends: after a number of operations or after a time.
enum RunLength: Sendable {
    case count(Int)
    case duration(Duration)
}

/// A stored file the download workload may fetch, with the digest its bytes must have.
struct StoredFile: Sendable {
    let key: String
    let digest: SHA256Digest
    let size: Int
}

/// Runs `concurrency` workers against one gateway, timing and checking every operation.
struct WorkloadRunner: Sendable {
    let gatewayURL: String
    let target: TargetKind
    let kind: WorkloadKind
    let fileSize: Int
    let concurrency: Int
    let length: RunLength
    let client: HTTPClient
    let recorder: LatencyRecorder
    let block: [UInt8]
    /// Sent as `Authorization: Bearer` when the gateway has API keys on (a read-write key: uploads need one).
    var apiKey: String? = nil
    /// Share of a mixed run's operations that delete a stored file (0...1); the rest are half uploads, half downloads.
    var deleteShare: Double = 0
    /// Signs S3 requests (`--target-kind s3`).
    var s3Signer: SigV4Signer? = nil
    let tally = OperationTally()
    /// Names PUT targets (S3, WebDAV) apart from every other run's, so that runs against one server create objects
    /// as `POST /upload` creates files, instead of overwriting (and so deleting) what an earlier run stored.
    let runName = String(UInt64.random(in: 0...UInt64.max), radix: 36)

    /// Creates the bucket the URL names (S3 target; one that exists already is fine).
    func prepareBucket() async throws {
        guard target == .s3 else { return }
        var request = HTTPClientRequest(url: gatewayURL)
        request.method = .PUT
        try sign(&request, method: "PUT", url: gatewayURL)
        let response = try await client.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 1 << 20)
        guard response.status == .ok || String(buffer: body).contains("BucketAlreadyOwnedByYou") else {
            throw LoadTestHTTPError(status: Int(response.status.code), body: String(buffer: body))
        }
    }

    /// Adds SigV4 headers for `url` (S3 target only).
    func sign(_ request: inout HTTPClientRequest, method: String, url: String) throws {
        guard target == .s3, let s3Signer else { return }
        guard let components = URLComponents(string: url), let host = components.host else {
            throw LoadTestHTTPError(status: 0, body: "not a URL: \(url)")
        }
        let authority = components.port.map { "\(host):\($0)" } ?? host
        let path = components.percentEncodedPath.isEmpty ? "/" : components.percentEncodedPath
        for (name, value) in s3Signer.sign(
            method: method, rawPath: path, rawQuery: nil, headers: [("host", authority)], payloadHash: "UNSIGNED-PAYLOAD",
            date: Date())
        {
            request.headers.add(name: name, value: value)
        }
    }

    /// Uploads `count` files for the download workload to read; returns them.
    func seed(count: Int) async throws -> [StoredFile] {
        var files: [StoredFile] = []
        for index in 0..<count {
            files.append(try await upload(seed: UInt64(1 << 40) + UInt64(index)))
        }
        return files
    }

    /// Runs the workload; returns what is stored and what was deleted at the end, for `AfterRunCheck`.
    @discardableResult
    func run(files initial: [StoredFile]) async -> SharedRunState {
        let shared = SharedRunState(files: initial)
        let deadline: ContinuousClock.Instant? = {
            if case .duration(let duration) = length { return .now + duration }
            return nil
        }()
        await withTaskGroup(of: Void.self) { group in
            for worker in 0..<concurrency {
                group.addTask {
                    var generator = SystemRandomNumberGenerator()
                    while true {
                        let ticket = shared.nextTicket()
                        if case .count(let total) = length, ticket >= total { return }
                        if let deadline, ContinuousClock.now >= deadline { return }
                        let doUpload: Bool
                        switch kind {
                        case .upload: doUpload = true
                        case .download: doUpload = false
                        case .mixed:
                            if deleteShare > 0, Double.random(in: 0..<1, using: &generator) < deleteShare,
                                let victim = shared.takeForDeletion(using: &generator)
                            {
                                await delete(victim, shared: shared)
                                continue
                            }
                            doUpload = Bool.random(using: &generator)
                        }
                        let candidates = shared.files
                        if doUpload || candidates.isEmpty {
                            let started = ContinuousClock.now
                            do {
                                let stored = try await upload(seed: UInt64(worker) << 32 | UInt64(ticket))
                                recorder.recordSuccess(latency: ContinuousClock.now - started, bytes: Int64(fileSize))
                                tally.succeeded(.upload)
                                shared.add(stored)
                            } catch let error as LoadTestMismatch {
                                tally.failed(.upload)
                                recorder.recordMismatch(error.description)
                            } catch {
                                tally.failed(.upload)
                                recorder.recordError("upload: \(error)")
                            }
                        } else {
                            let file = candidates.randomElement(using: &generator)!
                            let started = ContinuousClock.now
                            do {
                                try await download(file)
                                recorder.recordSuccess(latency: ContinuousClock.now - started, bytes: Int64(file.size))
                                tally.succeeded(.download)
                            } catch let error as LoadTestHTTPError where error.status == 404 && shared.wasDeleted(file.key) {
                                tally.goneByDelete()
                            } catch let error as LoadTestMismatch {
                                tally.failed(.download)
                                recorder.recordMismatch(error.description)
                            } catch {
                                tally.failed(.download)
                                recorder.recordError("download \(file.key): \(error)")
                            }
                        }
                    }
                }
            }
        }
        return shared
    }

    private func delete(_ file: StoredFile, shared: SharedRunState) async {
        let started = ContinuousClock.now
        do {
            var request = HTTPClientRequest(url: gatewayURL + "/files/" + file.key)
            request.method = .DELETE
            authorize(&request)
            let response = try await client.execute(request, timeout: .seconds(60))
            let body = try await response.body.collect(upTo: 1 << 20)
            guard response.status == .ok else { throw LoadTestHTTPError(status: Int(response.status.code), body: String(buffer: body)) }
            shared.deleteConfirmed(file.key)
            recorder.recordSuccess(latency: ContinuousClock.now - started, bytes: 0)
            tally.succeeded(.delete)
        } catch {
            // Whether the file is gone is unknown now: the after-run check leaves it out.
            shared.deleteUncertain(file.key)
            tally.failed(.delete)
            recorder.recordError("delete \(file.key): \(error)")
        }
    }

    func authorize(_ request: inout HTTPClientRequest) {
        if let apiKey, target == .gateway { request.headers.add(name: "authorization", value: "Bearer \(apiKey)") }
    }

    private func upload(seed: UInt64) async throws -> StoredFile {
        // The digest is taken while the body is sent, so each byte is generated once.
        let digestSink = DigestSink()
        let payload = HashingPayload(payload: Payload(block: block, seed: seed, size: fileSize), sink: digestSink)
        let name = "load-\(runName)-\(seed).bin"
        var request: HTTPClientRequest
        switch target {
        case .gateway:
            request = HTTPClientRequest(url: gatewayURL + "/upload?filename=" + name)
            request.method = .POST
        case .webdav, .s3:
            request = HTTPClientRequest(url: gatewayURL + "/" + name)
            request.method = .PUT
        }
        request.headers.add(name: "content-type", value: "application/octet-stream")
        authorize(&request)
        try sign(&request, method: "PUT", url: gatewayURL + "/" + name)
        request.body = .stream(payload, length: .known(Int64(fileSize)))
        let response = try await client.execute(request, timeout: .minutes(10))
        let body = try await response.body.collect(upTo: 1 << 20)
        guard (200..<300).contains(response.status.code) else {
            throw LoadTestHTTPError(status: Int(response.status.code), body: String(buffer: body))
        }
        let sent = digestSink.finalize()
        guard sent.byteCount == Int64(fileSize) else {
            throw LoadTestMismatch(description: "upload \(name): sent \(sent.byteCount) of \(fileSize) bytes")
        }
        guard target == .gateway else { return StoredFile(key: name, digest: sent.digest, size: fileSize) }
        struct Answer: Decodable {
            let file_id: String
            let checksum_sha256: String
        }
        let answer = try JSONDecoder().decode(Answer.self, from: Data(body.readableBytesView))
        guard answer.checksum_sha256 == sent.digest.hex else {
            throw LoadTestMismatch(description: "upload \(answer.file_id): gateway reports \(answer.checksum_sha256), sent \(sent.digest.hex)")
        }
        return StoredFile(key: answer.file_id, digest: sent.digest, size: fileSize)
    }

    private func download(_ file: StoredFile) async throws {
        let path = target == .gateway ? "/download/" + file.key : "/" + file.key
        var request = HTTPClientRequest(url: gatewayURL + path)
        authorize(&request)
        try sign(&request, method: "GET", url: gatewayURL + path)
        let response = try await client.execute(request, timeout: .minutes(10))
        guard response.status == .ok else {
            let body = try await response.body.collect(upTo: 1 << 20)
            throw LoadTestHTTPError(status: Int(response.status.code), body: String(buffer: body))
        }
        recorder.recordDownloadHeaders(
            hedged: isTruthy(response.headers.first(name: "x-dfs-hedged")),
            failovers: Int(response.headers.first(name: "x-dfs-failovers") ?? "") ?? 0)
        var hasher = StreamingSHA256()
        for try await chunk in response.body { hasher.update(chunk) }
        guard hasher.byteCount == Int64(file.size), hasher.finalize() == file.digest else {
            throw LoadTestMismatch(description: "download \(file.key): \(hasher.byteCount) bytes hashing to \(hasher.finalize().hex), expected \(file.digest.hex)")
        }
    }
}

/// `x-dfs-hedged: true` / `1` / `node-3`: anything but absent, empty, `0` or `false` means a hedge was sent.
private func isTruthy(_ header: String?) -> Bool {
    guard let value = header?.trimmingCharacters(in: .whitespaces).lowercased() else { return false }
    return !["", "0", "false", "no"].contains(value)
}

struct LoadTestHTTPError: Error, CustomStringConvertible {
    let status: Int
    let body: String
    var description: String { "HTTP \(status): \(body.prefix(200))" }
}

struct LoadTestMismatch: Error, CustomStringConvertible {
    let description: String
}

/// What the workers share: the operation counter, the files stored so far, and those the run deleted.
final class SharedRunState: Sendable {
    private struct Files {
        var stored: [StoredFile]
        /// Taken for deletion (from then on a `404` for them is expected).
        var deleting: Set<String> = []
        /// The gateway answered their DELETE with 200.
        var deleted: [StoredFile] = []
        /// Their DELETE failed: gone or not, nobody knows.
        var uncertain: Set<String> = []
        var taken: [String: StoredFile] = [:]
    }

    private let issued = Atomic<Int>(0)
    private let state: Mutex<Files>

    init(files: [StoredFile]) { state = Mutex(Files(stored: files)) }

    func nextTicket() -> Int { issued.add(1, ordering: .relaxed).oldValue }
    var files: [StoredFile] { state.withLock { $0.stored } }
    func add(_ file: StoredFile) { state.withLock { $0.stored.append(file) } }

    /// Removes a random stored file from the candidates and marks it as being deleted; nil when none is left.
    func takeForDeletion(using generator: inout some RandomNumberGenerator) -> StoredFile? {
        state.withLock { files in
            guard !files.stored.isEmpty else { return nil }
            let file = files.stored.remove(at: Int.random(in: 0..<files.stored.count, using: &generator))
            files.deleting.insert(file.key)
            files.taken[file.key] = file
            return file
        }
    }

    func wasDeleted(_ key: String) -> Bool { state.withLock { $0.deleting.contains(key) } }

    func deleteConfirmed(_ key: String) {
        state.withLock { files in
            if let file = files.taken.removeValue(forKey: key) { files.deleted.append(file) }
        }
    }

    func deleteUncertain(_ key: String) {
        state.withLock { files in
            files.taken[key] = nil
            files.uncertain.insert(key)
        }
    }

    /// Files the run stored and did not try to delete, and files whose DELETE was confirmed.
    var outcome: (stored: [StoredFile], deleted: [StoredFile]) { state.withLock { ($0.stored, $0.deleted) } }
}
