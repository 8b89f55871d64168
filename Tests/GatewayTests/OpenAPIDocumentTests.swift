import Foundation
import Logging
import Testing
import TestSupport

@testable import Gateway

/// `GET /openapi.yaml` describes every public endpoint. The live gateway's document is compared with
/// the routes the composition root registers, so a route added without documentation fails here. Whether the
/// answers match the schemas is schemathesis' job (scripts/api-fuzz.sh).
@Suite("OpenAPI document", .serialized)
struct OpenAPIDocumentTests {
    @Test("the live gateway serves an OpenAPI 3.1 YAML document that describes every registered route")
    func documentDescribesEveryRoute() async throws {
        let registered = try await routesRegisteredByBuildGateway()
        #expect(registered.contains("GET /openapi.yaml"))
        try await withCluster(nodes: 1) { cluster in
            let response = try await cluster.gateway.get("/openapi.yaml").expectingSuccess()
            #expect(response.header("Content-Type")?.hasPrefix("application/yaml") == true)
            let document = OpenAPIOutline(yaml: response.text)
            #expect(document.version?.hasPrefix("3.1.") == true, "openapi: \(document.version ?? "missing")")
            let undocumented = Set(registered.map(OpenAPIOutline.normalized)).subtracting(document.operations)
            #expect(undocumented.isEmpty, "registered but not in openapi.yaml: \(undocumented.sorted())")
        }
    }

    @Test("a known path with a method it does not serve answers 405 with Allow, an unknown path 404")
    func wrongMethodAnswers405() async throws {
        try await withCluster(nodes: 1) { cluster in
            let wrongMethod = try await cluster.gateway.send(.PATCH, "/upload")
            #expect(wrongMethod.status == 405)
            #expect(wrongMethod.header("Allow") == "POST, PUT")
            #expect(try wrongMethod.jsonObject()["error"] as? String == "method_not_allowed")

            let withCapture = try await cluster.gateway.send(.POST, "/files/some-key")
            #expect(withCapture.status == 405)
            #expect(withCapture.header("Allow") == "DELETE, GET")

            // A literal path beside a parameter one (`/nodes/check`, `/nodes/{id}`) lists only its own methods.
            let literal = try await cluster.gateway.send(.OPTIONS, "/nodes/check")
            #expect(literal.status == 405)
            #expect(literal.header("Allow") == "GET")

            let unknown = try await cluster.gateway.send(.PATCH, "/no/such/path")
            #expect(unknown.status == 404)
            #expect(try unknown.jsonObject()["error"] as? String == "not_found")
        }
    }

    /// The routes of a gateway built by `buildGateway`, the same composition root the binary runs.
    private func routesRegisteredByBuildGateway() async throws -> [String] {
        let directory = try makeTemporaryDirectory(prefix: "dfs-openapi")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var config = GatewayConfiguration()
        config.port = 0
        config.metadata = .sqlite(path: directory + "/metadata.sqlite")
        let gateway = try await buildGateway(config, logger: Logger(label: "test"))
        // The group owns the store and HTTP client it opened; asked to stop before it runs, it starts every
        // service and stops them at once, closing both.
        await gateway.serviceGroup.triggerGracefulShutdown()
        try await gateway.run()
        return gateway.routes
    }
}

/// The two things the test reads from the YAML, line by line (no YAML parser dependency): the `openapi:`
/// version and the `METHOD /path` of every operation under `paths:`, with path parameters reduced to `{}`.
struct OpenAPIOutline {
    var version: String?
    var operations: Set<String> = []

    private static let methods: Set<String> = ["get", "put", "post", "delete", "options", "head", "patch", "trace"]

    init(yaml: String) {
        var inPaths = false
        var currentPath: String?
        for line in yaml.split(separator: "\n", omittingEmptySubsequences: false) {
            if !line.hasPrefix(" "), !line.isEmpty {
                inPaths = line == "paths:"
                if line.hasPrefix("openapi:") { version = line.dropFirst("openapi:".count).trimmingCharacters(in: .whitespaces) }
                continue
            }
            guard inPaths else { continue }
            // Two spaces: a path key; four: one of its keys, an operation when it names a method.
            if line.hasPrefix("  /"), line.hasSuffix(":") {
                currentPath = String(line.dropFirst(2).dropLast())
            } else if line.hasPrefix("    "), !line.hasPrefix("     "), let path = currentPath {
                let key = line.dropFirst(4).prefix { $0 != ":" }
                if Self.methods.contains(String(key)) { operations.insert(Self.normalized("\(key.uppercased()) \(path)")) }
            }
        }
    }

    /// `GET /download/{file_key}` and the router's `GET /download/{key}` both become `GET /download/{}`; a router
    /// wildcard segment (`*`, `**`, as static files use) matches a documented parameter too.
    static func normalized(_ operation: String) -> String {
        operation.replacingOccurrences(of: #"\{[^}]*\}"#, with: "{}", options: .regularExpression)
            .replacingOccurrences(of: #"/\*\*?(?=/|$)"#, with: "/{}", options: .regularExpression)
    }
}

@Suite("OpenAPI outline")
struct OpenAPIOutlineTests {
    @Test("reads the version and the operations under paths:, parameters reduced to {}")
    func readsOperations() {
        let outline = OpenAPIOutline(
            yaml: """
                openapi: 3.1.0
                info:
                  title: x
                paths:
                  /files/{file_key}:
                    parameters:
                      - name: file_key
                    get:
                      responses: {}
                    delete:
                      responses: {}
                  /health:
                    get:
                      summary: get
                components:
                  schemas:
                    get:
                      type: object
                """)
        #expect(outline.version == "3.1.0")
        #expect(outline.operations == ["GET /files/{}", "DELETE /files/{}", "GET /health"])
        #expect(OpenAPIOutline.normalized("GET /dashboard/**") == "GET /dashboard/{}")
        #expect(OpenAPIOutline.normalized("GET /download/{key}") == "GET /download/{}")
    }
}
