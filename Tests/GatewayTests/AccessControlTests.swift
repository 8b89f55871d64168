import DFSCore
import DFSServer
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Synchronization
import Testing

@testable import Gateway

private let writerToken = "rw-0123456789abcdef"
private let readerToken = "ro-0123456789abcdef"
private let keysFile = """
    # a comment line, then a blank one

    read-write \(writerToken) ci   # trailing comment
    read-only  \(readerToken)
    """

/// API keys, the cluster secret on internal routes, and the refusal to run open on the network.
@Suite("Gateway access control")
struct AccessControlTests {
    @Test("the keys file gives each token its access and a name; comments and blank lines are skipped")
    func keysFileParses() throws {
        let keys = try APIKeyring(parsing: keysFile)
        #expect(keys.count == 2)
        #expect(keys.key(for: writerToken) == APIKey(access: .readWrite, name: "ci"))
        #expect(keys.key(for: readerToken) == APIKey(access: .readOnly, name: "line-4"))
        #expect(keys.key(for: "rw-0123456789abcdeX") == nil)
    }

    @Test(
        "a bad keys file is refused with its line number and without echoing the token",
        arguments: [
            ("admin \(writerToken)", "line 1"), ("read-write short", "at least 16"), ("read-write", "expected"),
            ("read-only \(readerToken)\nread-write \(readerToken)", "twice"), ("# nothing\n", "no key"),
        ])
    func badKeysFile(_ text: String, _ reason: String) {
        #expect {
            _ = try APIKeyring(parsing: text)
        } throws: { error in
            "\(error)".contains(reason) && !"\(error)".contains(writerToken) && !"\(error)".contains(readerToken)
        }
    }

    @Test("routes map to requirements: pages open, reads need a key, changes and probes a read-write key, internal the secret")
    func policy() {
        let cases: [(HTTPRequest.Method, String?, String, AccessRequirement)] = [
            (.get, "/health", "/health", .open), (.get, "/", "/", .open), (.get, "/openapi.yaml", "/openapi.yaml", .open),
            (.get, "/dashboard/app.js", "/dashboard/app.js", .open), (.get, nil, "/dashboard/app.js", .open),
            (.get, nil, "/dashboard/../files", .read), (.post, "/health", "/health", .write),
            (.get, "/files", "/files", .read), (.head, "/download/{key}", "/download/k", .read),
            (.get, "/metrics", "/metrics", .read),
            (.get, "/nodes/check", "/nodes/check", .write), (.post, "/upload", "/upload", .write),
            (.put, "/upload", "/upload", .write),
            (.delete, "/files/{key}", "/files/k", .write), (.post, "/nodes/{id}/recover", "/nodes/n/recover", .write),
            (.post, "/audit", "/audit", .write), (.post, "/internal/nodes/register", "/internal/nodes/register", .cluster),
            (.get, nil, "/no/such/route", .read),
        ]
        for (method, route, path, expected) in cases {
            #expect(AccessPolicy.requirement(method: method, route: route, path: path) == expected, "\(method) \(path)")
        }
    }

    @Test("verdicts: no keys means open; with keys a missing, unknown or read-only key is told apart")
    func verdicts() throws {
        let open = AccessControl(keys: nil, clusterSecret: nil)
        #expect(open.verdict(for: .write, presenting: .init(authorization: nil, clusterSecret: nil)) == .allowed(key: nil))
        #expect(open.verdict(for: .cluster, presenting: .init(authorization: nil, clusterSecret: nil)) == .allowed(key: nil))

        let secret = try ClusterSecret(validating: "cluster-secret-0123456789")
        let guarded = AccessControl(keys: try APIKeyring(parsing: keysFile), clusterSecret: secret)
        func verdict(_ requirement: AccessRequirement, _ authorization: String?, secret: String? = nil) -> AccessVerdict {
            guarded.verdict(for: requirement, presenting: .init(authorization: authorization, clusterSecret: secret))
        }
        #expect(verdict(.open, nil) == .allowed(key: nil))
        #expect(verdict(.read, nil) == .missingKey)
        #expect(verdict(.read, "Basic \(readerToken)") == .missingKey)
        #expect(verdict(.read, "Bearer nope-nope-nope-nope") == .unknownKey)
        #expect(verdict(.read, "bearer \(readerToken)") == .allowed(key: "line-4"))
        #expect(verdict(.write, "Bearer \(readerToken)") == .readOnlyKey(name: "line-4"))
        #expect(verdict(.write, "Bearer \(writerToken)") == .allowed(key: "ci"))
        #expect(verdict(.cluster, "Bearer \(writerToken)") == .missingClusterSecret)
        #expect(verdict(.cluster, nil, secret: "cluster-secret-012345678X") == .missingClusterSecret)
        #expect(verdict(.cluster, nil, secret: secret.value) == .allowed(key: nil))
    }

    @Test("a signed download link opens its own file until it expires, and nothing else")
    func downloadLinks() throws {
        let signer = DownloadLinkSigner()
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let link = signer.link(for: try FileKey(validating: "file-a"), now: now)
        #expect(link.expiresAt == now.addingTimeInterval(DownloadLinkSigner.lifetime))
        let query = try #require(URLComponents(string: link.path)?.queryItems)
        let expires = try #require(query.first { $0.name == "expires" }?.value)
        let signature = try #require(query.first { $0.name == "signature" }?.value)
        #expect(link.path.hasPrefix("/download/file-a?") && signature.count == 64)
        let claim = DownloadLinkClaim(fileKey: "file-a", expires: expires, signature: signature)

        #expect(signer.accepts(claim, now: now))
        #expect(signer.accepts(claim, now: link.expiresAt.addingTimeInterval(-1)))
        #expect(!signer.accepts(claim, now: link.expiresAt))
        var otherFile = claim
        otherFile.fileKey = "file-b"
        #expect(!signer.accepts(otherFile, now: now))
        var later = claim
        later.expires = String(Int64(expires)! + 3600)
        #expect(!signer.accepts(later, now: now))
        var flipped = claim
        flipped.signature = String(signature.dropLast()) + (signature.hasSuffix("0") ? "1" : "0")
        #expect(!signer.accepts(flipped, now: now))
        for garbage in ["", "zz", String(repeating: "g", count: 64)] {
            #expect(!signer.accepts(DownloadLinkClaim(fileKey: "file-a", expires: expires, signature: garbage), now: now))
        }
        #expect(!signer.accepts(DownloadLinkClaim(fileKey: "file-a", expires: "soon", signature: signature), now: now))
        // Another gateway process (another secret) does not honour it.
        #expect(!DownloadLinkSigner().accepts(claim, now: now))

        // With keys on, a link stands in for a key on reads only, and a bearer token decides when both are sent.
        var access = AccessControl(keys: try APIKeyring(parsing: keysFile), clusterSecret: nil)
        access.downloadLinks = signer
        func verdict(_ requirement: AccessRequirement, _ authorization: String?, _ link: DownloadLinkClaim) -> AccessVerdict {
            access.verdict(
                for: requirement, presenting: .init(authorization: authorization, clusterSecret: nil, downloadLink: link),
                now: now)
        }
        #expect(verdict(.read, nil, claim) == .allowed(key: AccessControl.downloadLinkName))
        #expect(verdict(.read, nil, otherFile) == .invalidDownloadLink)
        #expect(verdict(.write, nil, claim) == .missingKey)
        #expect(verdict(.read, "Bearer nope-nope-nope-nope", claim) == .unknownKey)
        #expect(
            AccessControl(keys: nil, clusterSecret: nil).verdict(
                for: .read, presenting: .init(authorization: nil, clusterSecret: nil, downloadLink: otherFile))
                == .allowed(key: nil))
    }

    @Test("through the router: 401 with WWW-Authenticate and JSON error, 403 for a read-only key, the handler never runs")
    func middlewareAnswers() async throws {
        let calls = CallCounter()
        let router = Router(context: GatewayContext.self)
        router.add(middleware: APIErrorMiddleware(mapping: APIError.init(mapping:)))
        router.add(
            middleware: AccessControlMiddleware(
                access: AccessControl(keys: try APIKeyring(parsing: keysFile), clusterSecret: nil)))
        router.get("/health") { _, _ in "up" }
        router.get("/files") { _, _ in "list" }
        router.delete("/files/:key") { _, _ in
            calls.increment()
            return "deleted"
        }
        try await Application(router: router).test(.router) { client in
            #expect(try await client.execute(uri: "/health", method: .get).status == .ok)

            let anonymous = try await client.execute(uri: "/files", method: .get)
            #expect(anonymous.status == .unauthorized)
            #expect(anonymous.headers[.wwwAuthenticate]?.hasPrefix("Bearer") == true)
            let body = try JSONDecoder().decode([String: String].self, from: Data(anonymous.body.readableBytesView))
            #expect(body["error"] == "unauthorized")
            #expect(body["message"]?.isEmpty == false)

            let reader: HTTPFields = [.authorization: "Bearer \(readerToken)"]
            #expect(try await client.execute(uri: "/files", method: .get, headers: reader).status == .ok)
            let refused = try await client.execute(uri: "/files/abc", method: .delete, headers: reader)
            #expect(refused.status == .forbidden)
            #expect(String(buffer: refused.body).contains("\"forbidden\""))
            #expect(calls.value == 0)

            let writer: HTTPFields = [.authorization: "Bearer \(writerToken)"]
            #expect(try await client.execute(uri: "/files/abc", method: .delete, headers: writer).status == .ok)
            #expect(calls.value == 1)
        }
    }

    @Test("a non-loopback --host without keys or secret refuses to start, naming what is missing; --insecure-open allows it")
    func exposure() throws {
        #expect {
            _ = try GatewayCommand.parse(["--host", "0.0.0.0"]).configuration()
        } throws: { error in
            let text = "\(error)"
            return text.contains("refusing to listen on 0.0.0.0") && text.contains("--api-keys-file")
                && text.contains("--insecure-open")
        }
        #expect(
            try GatewayCommand.parse(["--host", "0.0.0.0", "--insecure-open", "--insecure-plaintext"]).configuration()
                .insecureOpen)
        #expect(try GatewayCommand.parse(["--host", "127.0.0.1"]).configuration().apiKeys == nil)

        var config = GatewayConfiguration()
        config.host = "10.1.2.3"
        config.apiKeys = try APIKeyring(parsing: keysFile)
        #expect(throws: ConfigurationError.self) { try config.validate() }  // still no cluster secret
        config.clusterSecret = try ClusterSecret(validating: "cluster-secret-0123456789")
        config.transportSecurity.allowsPlaintextOnNetwork = true
        try config.validate()
    }

    @Test("a non-loopback --host without TLS refuses to start even with keys and secret; TLS or --insecure-plaintext allows it")
    func plaintextExposure() throws {
        var config = GatewayConfiguration()
        config.host = "10.1.2.3"
        config.apiKeys = try APIKeyring(parsing: keysFile)
        config.clusterSecret = try ClusterSecret(validating: "cluster-secret-0123456789")
        #expect {
            try config.validate()
        } throws: { error in
            let text = "\(error)"
            return text.contains("refusing to listen on 10.1.2.3 without TLS") && text.contains("--tls-cert")
                && text.contains("--insecure-plaintext")
        }
        config.transportSecurity.serverCertificate = .init(certificateFile: "/tls/gateway.pem", keyFile: "/tls/gateway.key")
        try config.validate()
        config.transportSecurity = TransportSecurity(allowsPlaintextOnNetwork: true)
        try config.validate()
        // --insecure-open waives keys and secret, not TLS.
        #expect {
            _ = try GatewayCommand.parse(["--host", "0.0.0.0", "--insecure-open"]).configuration()
        } throws: { "\($0)".contains("without TLS") }
        config.host = "127.0.0.1"
        config.transportSecurity = TransportSecurity()
        try config.validate()
    }

    @Test("--tls-cert needs --tls-key, and every TLS file must be readable")
    func tlsFlags() throws {
        #expect {
            _ = try GatewayCommand.parse(["--tls-cert", "/etc/hostname"]).configuration()
        } throws: { "\($0)".contains("--tls-cert and --tls-key go together") }
        #expect {
            _ = try GatewayCommand.parse(["--tls-ca", "/nonexistent/ca.pem"]).configuration()
        } throws: { "\($0)".contains("--tls-ca /nonexistent/ca.pem cannot be read") }
        let config = try GatewayCommand.parse(["--tls-cert", "/etc/hostname", "--tls-key", "/etc/hostname"]).configuration()
        #expect(config.transportSecurity.servesHTTPS && config.transportSecurity.scheme == "https")
    }

    @Test("loopback addresses are told from reachable ones")
    func loopback() {
        for host in ["127.0.0.1", "127.1.2.3", "localhost", "::1", "[::1]"] { #expect(ListenAddress.isLoopback(host), "\(host)") }
        for host in ["0.0.0.0", "::", "10.0.0.1", "192.168.1.5", "127.0.0", "example.com"] {
            #expect(!ListenAddress.isLoopback(host), "\(host)")
        }
    }

    @Test("the cluster secret matches only itself and never prints")
    func clusterSecret() throws {
        let secret = try ClusterSecret(validating: "cluster-secret-0123456789")
        #expect(secret.matches("cluster-secret-0123456789"))
        #expect(!secret.matches("cluster-secret-012345678"))
        #expect(!secret.matches(nil))
        #expect("\(secret)" == "***")
        #expect(throws: ClusterSecretError.self) { try ClusterSecret(validating: "short") }
        #expect(ClusterSecret.generate().value.count == 64)
        #expect(ClusterSecret.generate().value != ClusterSecret.generate().value)
    }
}

/// Counts handler runs, to prove a refused request never reached its handler.
private final class CallCounter: Sendable {
    private let count = Mutex(0)
    func increment() { count.withLock { $0 += 1 } }
    var value: Int { count.withLock { $0 } }
}
