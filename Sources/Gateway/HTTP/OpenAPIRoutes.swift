import Hummingbird
import NIOCore

/// Serves the API's description, `GET /openapi.yaml`, from the copy compiled into the binary.
///
/// The source is `Sources/Gateway/OpenAPI/openapi.yaml`; SwiftPM embeds it (`.embedInCode` in Package.swift),
/// so a deployed gateway needs no resource files beside it. The document is kept true by
/// `OpenAPIDocumentTests` (every registered route is described) and by `scripts/api-fuzz.sh` (schemathesis
/// checks live answers against it).
struct OpenAPIRoutes: Sendable {
    /// The document's bytes, as written in the source file.
    static var document: ByteBuffer { ByteBuffer(bytes: PackageResources.openapi_yaml) }

    func register<Context: RequestContext>(on router: Router<Context>) {
        router.get("/openapi.yaml") { _, _ in
            // RFC 9512 registers application/yaml; browsers and Swagger UI accept it.
            Response(
                status: .ok, headers: [.contentType: "application/yaml; charset=utf-8"],
                body: ResponseBody(byteBuffer: Self.document))
        }
    }
}
