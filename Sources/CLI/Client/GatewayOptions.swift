import DFSOptions
import ArgumentParser
import DFSClient
import Foundation

/// `--gateway`, `--timeout` and `--api-key`, shared by every client command.
struct GatewayOptions: ParsableArguments {
    static let defaultGateway = "http://127.0.0.1:8080"

    @Option(
        name: .long,
        help: ArgumentHelp(
            "The gateway to talk to (default: \(defaultGateway)) (env: DFS_GATEWAY).",
            valueName: "url"
        )
    )
    var gateway: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Time limit for one request, e.g. 30s or 500ms; for put and get, the longest pause in a transfer (env: DFS_TIMEOUT).",
            valueName: "duration"
        )
    )
    var timeout: DurationArgument?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "API key sent as 'Authorization: Bearer <key>' to a gateway started with --api-keys-file (env: DFS_API_KEY; the variable keeps it out of ps and shell history).",
            valueName: "key"
        )
    )
    var apiKey: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "PEM CA certificate an https:// gateway must be signed by, e.g. dfs-data/tls/ca.pem from `dfs up --tls` (env: DFS_CACERT; default: the system's roots).",
            valueName: "file"
        )
    )
    var cacert: String?

    /// `--cacert`, else `DFS_CACERT`, else the system's roots.
    var trustRoots: TrustRoots {
        TrustRoots(caFile: cacert ?? OptionEnvironment.value(for: "cacert"))
    }

    /// `--api-key`, else `DFS_API_KEY`, else none.
    var effectiveAPIKey: String? {
        apiKey ?? OptionEnvironment.value(for: "api-key")
    }

    /// The gateway's base URL without a trailing slash: flag, else `DFS_GATEWAY`, else the default.
    var gatewayURL: String {
        let raw = gateway ?? OptionEnvironment.value(for: "gateway") ?? Self.defaultGateway
        return raw.hasSuffix("/") ? String(raw.dropLast()) : raw
    }

    /// `--timeout`, else `DFS_TIMEOUT`, else `fallback` (commands that run long pass a longer one).
    func requestTimeout(default fallback: Duration = .seconds(30)) throws -> Duration {
        try OptionEnvironment.resolve(timeout, "timeout", default: DurationArgument(fallback)).duration
    }

    mutating func validate() throws {
        let url = gatewayURL
        guard let components = URLComponents(string: url), let scheme = components.scheme,
            ["http", "https"].contains(scheme.lowercased()), let host = components.host, !host.isEmpty
        else {
            throw ValidationError("--gateway must be an http:// or https:// URL, such as \(Self.defaultGateway); got '\(url)'")
        }
        _ = try requestTimeout()
        if case .certificateAuthority(let file) = trustRoots, !FileManager.default.isReadableFile(atPath: file) {
            throw ValidationError("--cacert \(file) cannot be read")
        }
    }
}
