import ArgumentParser

struct Queue: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "queue",
        abstract: "Show the replication queue: copies (and deletes) waiting for a node."
    )

    @Option(help: "Only items in this state: PENDING, IN_PROGRESS, COMPLETED or FAILED.")
    var status: String?

    @Option(help: "Only items for this target node id.")
    var node: String?

    @Flag(help: "Print the gateway's JSON answer instead of a table.")
    var json = false

    @OptionGroup var gateway: GatewayOptions

    func run() async throws {
        var query: [String] = []
        if let status { query.append("status=" + GatewayClient.encode(status.uppercased())) }
        if let node { query.append("node_id=" + GatewayClient.encode(node)) }
        let path = "/replication-queue" + (query.isEmpty ? "" : "?" + query.joined(separator: "&"))
        let reply = try await GatewayClient.with(gateway) { client in try await client.call(.GET, path) }
        if json { return JSONOutput.print(reply) }

        let items = try reply.json()["items"]?.arrayValue ?? []
        var table = TextTable("ID", "FILE_KEY", "TARGET", "SOURCE", "STATUS", "RETRIES", "LAST_ATTEMPT", "ERROR")
        for item in items {
            table.append([
                item["id"]?.text, item["file_key"]?.text, item["target_node_id"]?.text, item["source_node_id"]?.text,
                item["status"]?.text, item["retry_count"]?.text, TimestampText.short(item["last_attempt"]?.text),
                item["error_message"]?.text.map { String($0.prefix(60)) },
            ])
        }
        print(items.isEmpty ? "the queue is empty" + (query.isEmpty ? "" : " for this filter") : table.rendered)
    }
}
