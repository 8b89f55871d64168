import DFSClient
import DFSLauncher
import Foundation
import TestSupport

/// Shell steps the TLS tests share: what a server presents, as openssl sees it.
enum TLSProbe {
    /// The SHA-256 fingerprint of the certificate served on `host:port` to a new connection, or nil when no TLS
    /// handshake completes.
    static func servedFingerprint(host: String = "127.0.0.1", port: Int) async throws -> String? {
        let run = try await shell(
            "openssl s_client -connect \(host):\(port) -servername localhost </dev/null 2>/dev/null"
                + " | openssl x509 -noout -fingerprint -sha256")
        return fingerprint(in: run.standardOutput)
    }

    /// The SHA-256 fingerprint of a PEM certificate file.
    static func fileFingerprint(_ path: String) async throws -> String? {
        fingerprint(in: try await shell("openssl x509 -in '\(path)' -noout -fingerprint -sha256").standardOutput)
    }

    /// What `curl` gets from a plain-HTTP request: the status (`000` when no HTTP answer came) and curl's exit code.
    static func plainHTTPStatus(_ url: String) async throws -> (status: String, exit: ProcessExit) {
        let run = try await CommandRun.run(
            "/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "5", url], timeout: .seconds(20))
        return (run.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines), run.exit)
    }

    static func shell(_ script: String) async throws -> CommandRun {
        try await CommandRun.run("/bin/sh", ["-c", script], timeout: .seconds(30))
    }

    private static func fingerprint(in output: String) -> String? {
        guard let line = output.split(separator: "\n").first(where: { $0.contains("Fingerprint=") }) else { return nil }
        return String(line.split(separator: "=", maxSplits: 1)[1])
    }
}
