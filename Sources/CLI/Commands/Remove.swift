import ArgumentParser
import DFSCore

struct Remove: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rm",
        abstract: "Delete a file from every node.",
        discussion: "Nodes that are down get a queued delete, so a returning node cannot bring the file back."
    )

    @Argument(help: "The key of the file to delete.")
    var key: String

    @Flag(help: "Print the gateway's JSON answer instead of a summary.")
    var json = false

    @OptionGroup var gateway: GatewayOptions

    func validate() throws {
        _ = try FileKey(validating: key)
    }

    func run() async throws {
        let reply = try await GatewayClient.with(gateway) { client in
            try await client.call(.DELETE, "/files/" + GatewayClient.encode(key))
        }
        if json { return JSONOutput.print(reply) }
        let document = try reply.json()
        let deleted = document["deleted_from"]?.text ?? ""
        let failed = document["failed"]?.text ?? ""
        print("deleted \(key)" + (deleted.isEmpty ? "" : " from \(deleted)") + (failed.isEmpty ? "" : "; queued for \(failed)"))
    }
}
