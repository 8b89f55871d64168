import ArgumentParser

struct Nodes: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nodes",
        abstract: "Show the storage nodes: status, role, measured latency and last heartbeat."
    )

    @Flag(help: "Print the gateway's JSON answer instead of a table.")
    var json = false

    @OptionGroup var gateway: GatewayOptions

    func run() async throws {
        let reply = try await GatewayClient.with(gateway) { client in try await client.call(.GET, "/nodes") }
        if json { return JSONOutput.print(reply) }

        var table = TextTable("ID", "ADDRESS", "STATUS", "ROLE", "LATENCY", "LAST_HEARTBEAT")
        for node in try reply.json().arrayValue {
            table.append([
                node["id"]?.text, node["address"]?.text, node["status"]?.text, node["role"]?.text,
                node["latency_ms"]?.text.map { $0 + " ms" }, TimestampText.short(node["last_heartbeat"]?.text),
            ])
        }
        print(table.rows.isEmpty ? "no nodes registered" : table.rendered)
    }
}
