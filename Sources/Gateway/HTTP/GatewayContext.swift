import Foundation
import Hummingbird
import Logging

/// Per-request context; its logger carries the request id.
struct GatewayContext: RequestContext {
    var coreContext: CoreRequestContextStorage

    init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
    }

    /// Stable key order and unescaped slashes in URLs make answers readable and diffable.
    var responseEncoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}
