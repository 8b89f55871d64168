import ArgumentParser
import DFSCore
import Foundation

struct Get: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "get",
        abstract: "Download a file by its key.",
        discussion: """
            Writes to the file's original name (from the gateway), or to -o PATH; `-o -` writes to stdout. The \
            bytes go to a hidden temp file that is renamed into place only once its length and SHA-256 match \
            what the gateway announced, so a failed download leaves nothing behind.
            """
    )

    @Argument(help: "The file key that `dfs put` printed.")
    var key: String

    @Option(
        name: [.short, .customLong("output")], help: "Where to write: a path, a folder, or - for stdout.", completion: .file())
    var output: String?

    @Flag(help: "Replace an existing file of the same name.")
    var force = false

    @OptionGroup var gateway: GatewayOptions

    func validate() throws {
        _ = try FileKey(validating: key)
    }

    func run() async throws {
        let fileKey = try FileKey(validating: key)
        let result = try await GatewayClient.with(gateway) { client in
            try await FileDownload(key: fileKey, output: output, replacesExisting: force).run(with: client)
        }
        let check = result.isVerified ? "sha256 verified" : "sha256 \(result.digest.hex), not announced by the gateway"
        FileHandle.standardError.write(
            Data("wrote \(result.destination) (\(ByteCountText.binary(result.size)), \(check))\n".utf8))
    }
}
