import Foundation
import Testing

@testable import Gateway

/// `--metadata mysql://…` and its password sources: parsed into the configuration, never printed.
@Suite("Metadata options")
struct MetadataOptionsTests {
    @Test("a mysql:// URL is accepted and printed with its password masked")
    func mysqlURLIsMasked() throws {
        let config = try GatewayCommand.parse(["--metadata", "mysql://dfs:s3cret@127.0.0.1:3307/dfs"]).configuration()
        #expect(config.metadata == .mysql(url: "mysql://dfs:s3cret@127.0.0.1:3307/dfs"))
        #expect(config.metadata.description == "mysql://dfs:***@127.0.0.1:3307/dfs")
        #expect(config.metadataPassword == nil)
    }

    @Test("--metadata-password-file replaces the URL's password with the file's first line")
    func passwordFile() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("dfs-pw-\(UUID().uuidString)").path
        try "from-file\nignored\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let config = try GatewayCommand.parse([
            "--metadata", "mysql://dfs@127.0.0.1/dfs", "--metadata-password-file", path, "--metadata-connections", "3",
        ]).configuration()
        #expect(config.metadataPassword == "from-file")
        #expect(config.metadataConnections == 3)
    }

    @Test("a malformed mysql:// URL is refused at startup without echoing its password")
    func malformedURL() throws {
        #expect {
            _ = try GatewayCommand.parse(["--metadata", "mysql://dfs:s3cret@127.0.0.1:notaport/dfs"]).configuration()
        } throws: { error in
            let text = "\(error)"
            return text.contains("port") && !text.contains("s3cret")
        }
    }
}
