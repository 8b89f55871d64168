import ArgumentParser
import DFSCore

struct Recover: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recover",
        abstract: "Copy a node's pending (and failed) queue items to it now, instead of waiting for the recovery loop.",
        discussion: "This can take a while for many files; the default --timeout here is 10m."
    )

    @Argument(help: "The node id, such as node-2.")
    var node: String

    @Flag(help: "Print the gateway's JSON answer instead of a summary.")
    var json = false

    @OptionGroup var gateway: GatewayOptions

    func validate() throws {
        _ = try NodeID(validating: node)
    }

    func run() async throws {
        let reply = try await GatewayClient.with(gateway, defaultTimeout: .seconds(600)) { client in
            try await client.call(.POST, "/nodes/\(GatewayClient.encode(node))/recover")
        }
        if json { return JSONOutput.print(reply) }
        let document = try reply.json()
        if let message = document["message"]?.text { print(message) }
        let figures = [("total", "total"), ("success", "copied"), ("failed", "failed"), ("pending_items", "still pending")]
            .compactMap { key, label in document[key]?.text.map { "\(label) \($0)" } }
        if !figures.isEmpty { print(figures.joined(separator: ", ")) }
    }
}
