import Foundation
import Testing
import TestSupport

/// Bad input gets a clear JSON error and changes nothing.
@Suite("Bad input is refused and changes nothing", .serialized)
struct BadInputTests {
    @Test("missing file field, bad keys, over-size, unknown file and wrong digest each get their JSON error")
    func badInputs() async throws {
        try await withCluster(nodes: 3, gatewayArguments: ["--max-upload-size", "1MiB"]) { cluster in
            let gateway = cluster.gateway

            // multipart without a `file` part
            let boundary = "b0undary"
            let form = Array(
                "--\(boundary)\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\nhello\r\n--\(boundary)--\r\n".utf8)
            try expectError(
                await gateway.post(
                    "/upload", body: form, headers: [("Content-Type", "multipart/form-data; boundary=\(boundary)")]),
                status: 400, code: "missing_file_field")

            // keys that try to leave the blob directory
            try expectError(await gateway.download("..%2F..%2Fetc%2Fpasswd"), status: 400, code: "invalid_key")
            try expectError(await gateway.download("a..b"), status: 400, code: "invalid_key")
            try expectError(await gateway.delete("/files/a%2Fb"), status: 400, code: "invalid_key")
            try expectError(await gateway.get("/files/..."), status: 400, code: "invalid_key")

            // over the size limit: announced by Content-Length, and discovered while streaming a multipart body
            try expectError(
                await gateway.uploadRaw(randomBytes((1 << 20) + 1), filename: "big.bin"), status: 413, code: "payload_too_large")
            try expectError(
                await gateway.uploadMultipart(randomBytes(1 << 20 + 100_000), filename: "big.bin"), status: 413,
                code: "payload_too_large")

            // unknown file, unknown node
            try expectError(await gateway.download("no-such-file"), status: 404, code: "file_not_found")
            try expectError(await gateway.delete("/files/no-such-file"), status: 404, code: "file_not_found")
            try expectError(await gateway.post("/nodes/node-7/recover"), status: 404, code: "node_not_found")

            // a digest that does not match the body, in both header forms, and a malformed one
            let bytes = randomBytes(4096)
            try expectError(
                await gateway.uploadRaw(
                    bytes, filename: "x", headers: [("X-Checksum-SHA256", String(repeating: "0", count: 64))]),
                status: 422, code: "digest_mismatch")
            try expectError(
                await gateway.uploadMultipart(
                    bytes, filename: "x",
                    headers: [("Content-Digest", "sha-256=:\(Data(repeating: 7, count: 32).base64EncodedString()):")]),
                status: 422, code: "digest_mismatch")
            try expectError(
                await gateway.uploadRaw(bytes, filename: "x", headers: [("X-Checksum-SHA256", "xyz")]), status: 400,
                code: "invalid_digest")

            // file names: a raw body needs one; 1-255 bytes of UTF-8 without control characters, in either form
            try expectError(
                await gateway.post("/upload", body: bytes, headers: [("Content-Type", "application/octet-stream")]), status: 400,
                code: "missing_filename")
            try expectError(
                await gateway.uploadRaw(bytes, filename: String(repeating: "n", count: 5_000)), status: 400,
                code: "invalid_filename")
            try expectError(
                await gateway.uploadRaw(bytes, filename: String(repeating: "é", count: 128)), status: 400,
                code: "invalid_filename")
            try expectError(await gateway.uploadRaw(bytes, filename: "tab\tname"), status: 400, code: "invalid_filename")
            try expectError(
                await gateway.post("/upload?filename=", body: bytes, headers: [("Content-Type", "application/octet-stream")]),
                status: 400, code: "invalid_filename")
            try expectError(
                await gateway.uploadMultipart(bytes, filename: String(repeating: "m", count: 256)), status: 400,
                code: "invalid_filename")
            try expectError(await gateway.uploadMultipart(bytes, filename: "bell\u{7}"), status: 400, code: "invalid_filename")

            // bad query parameters
            try expectError(await gateway.get("/files?limit=0"), status: 400, code: "bad_request")
            try expectError(await gateway.get("/replication-queue?status=SLEEPING"), status: 400, code: "bad_request")

            // Nothing was recorded and no node kept a blob.
            #expect(try await gateway.getJSON("/files", as: FilesAnswer.self).count == 0)
            #expect(try await gateway.getJSON("/replication-queue", as: QueueAnswer.self).count == 0)
            for number in 1...3 {
                let health = try await cluster.nodeClient(number).getJSON("/health", as: NodeHealthAnswer.self)
                #expect(health.blob_count == 0, "node-\(number) kept a blob")
            }

            // And a matching digest is accepted, as are names of exactly 255 bytes.
            let ok = try await gateway.uploadRaw(bytes, filename: "x", headers: [("X-Checksum-SHA256", sha256Hex(bytes))])
            #expect(ok.status == 200)
            let longest = String(repeating: "é", count: 127) + "x"
            let named = try await gateway.uploadRaw(bytes, filename: longest).expectingSuccess().json(UploadAnswer.self)
            #expect(named.original_filename == longest)
        }
    }
}

/// Asserts a JSON error: the status, a JSON body with `error` == code and a non-empty `message`.
func expectError(_ response: TestResponse, status: Int, code: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
    #expect(response.status == status, "expected \(status) \(code), got \(response)", sourceLocation: sourceLocation)
    let body = try response.json(ErrorAnswer.self)
    #expect(body.error == code, sourceLocation: sourceLocation)
    #expect(!body.message.isEmpty, sourceLocation: sourceLocation)
    #expect(response.header("Content-Type")?.hasPrefix("application/json") == true, sourceLocation: sourceLocation)
}
