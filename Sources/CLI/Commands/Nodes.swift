import ArgumentParser

struct Nodes: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nodes",
        abstract: "Show the storage nodes: status, lifecycle state, role, zone, space used, measured latency and last heartbeat."
    )

    @Flag(help: "Print the gateway's JSON answer instead of a table.")
    var json = false

    @OptionGroup var gateway: GatewayOptions

    func run() async throws {
        let reply = try await GatewayClient.with(gateway) { client in try await client.call(.GET, "/nodes") }
        if json { return JSONOutput.print(reply) }

        var table = TextTable("ID", "ADDRESS", "STATUS", "STATE", "ROLE", "ZONE", "USED", "LATENCY", "LAST_HEARTBEAT")
        for node in try reply.json().arrayValue {
            table.append([
                node["id"]?.text, node["address"]?.text, node["status"]?.text, node["state"]?.text, node["role"]?.text,
                node["zone"]?.text,
                Self.usage(used: node["used_bytes"]?.int64Value, capacity: node["capacity_bytes"]?.int64Value),
                node["latency_ms"]?.text.map { $0 + " ms" }, TimestampText.short(node["last_heartbeat"]?.text),
            ])
        }
        print(table.rows.isEmpty ? "no nodes registered" : table.rendered)
    }

    /// "1.2 GiB of 10 GiB (12 %)", or nil before the node reported its room.
    static func usage(used: Int64?, capacity: Int64?) -> String? {
        guard let used, let capacity, capacity > 0 else { return nil }
        let percent = Int((Double(used) / Double(capacity) * 100).rounded())
        return "\(ByteCountText.binary(used)) of \(ByteCountText.binary(capacity)) (\(percent) %)"
    }
}
