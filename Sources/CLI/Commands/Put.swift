import ArgumentParser
import Foundation

struct Put: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "put",
        abstract: "Upload a file and print its key and which nodes hold verified copies.",
        discussion: """
            The file is streamed from disk (never read whole into memory). dfs first computes its SHA-256 and \
            sends it along, so the gateway refuses the upload if any byte changed on the way.
            """
    )

    @Argument(help: "The file to upload.", completion: .file())
    var file: String

    @Option(help: "The name to store it under (default: the file's own name).")
    var name: String?

    @Flag(help: "Print the gateway's JSON answer instead of a summary.")
    var json = false

    @OptionGroup var gateway: GatewayOptions

    func run() async throws {
        let receipt = try await GatewayClient.with(gateway) { client in
            try await FileUpload(path: file, name: name).run(with: client)
        }
        if json {
            JSONOutput.print(receipt.reply)
        } else {
            print(UploadSummary(receipt).rendered)
        }
    }
}
