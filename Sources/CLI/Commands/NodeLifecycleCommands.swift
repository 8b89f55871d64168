import ArgumentParser
import DFSCore
import Foundation
import NIOHTTP1

/// What every node lifecycle command takes: the node, `--json`, and the gateway to ask.
struct NodeLifecycleTarget: ParsableArguments {
    @Argument(help: "The node id, such as node-2.")
    var node: String

    @Flag(help: "Print the gateway's JSON answer instead of a summary.")
    var json = false

    @OptionGroup var gateway: GatewayOptions

    func validate() throws { _ = try NodeID(validating: node) }

    /// `METHOD /nodes/{node}SUFFIX`; prints the JSON answer with `--json`, else `summary` of it.
    func call(_ method: HTTPMethod, _ suffix: String, summary: (JSONValue) -> String?) async throws {
        let reply = try await GatewayClient.with(gateway) { client in
            try await client.call(method, "/nodes/\(GatewayClient.encode(node))" + suffix)
        }
        if json { return JSONOutput.print(reply) }
        if let text = summary(try reply.json()) { print(text) }
    }
}

/// `dfs drain NODE`: no new copies on the node; its copies are re-made elsewhere until it is DRAINED.
struct Drain: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drain",
        abstract: "Drain a node: it takes no new copies, and its copies are re-made on other nodes until it is DRAINED.",
        discussion: """
            Downloads keep working throughout. With --wait, shows the node's progress until it is DRAINED; then \
            `dfs remove NODE` forgets it. `dfs activate NODE` undoes a drain.
            """
    )

    @OptionGroup var target: NodeLifecycleTarget

    @Flag(help: "Wait until the node is DRAINED, printing its state and the blobs it still holds every few seconds.")
    var wait = false

    func run() async throws {
        try await target.call(.POST, "/drain") { $0["message"]?.text }
        guard wait else { return }
        let node = target.node
        try await GatewayClient.with(target.gateway) { client in
            while true {
                guard let row = try await client.call(.GET, "/nodes").json().arrayValue.first(where: { $0["id"]?.text == node })
                else {
                    throw ValidationError("\(node) is no longer listed by the gateway")
                }
                let state = row["state"]?.text ?? "?"
                // A live probe: /nodes shows the blob count of the last background probe, seconds old.
                let checked = try await client.call(.GET, "/nodes/check").json()
                let blobs = checked["nodes"]?.arrayValue.first(where: { $0["id"]?.text == node })?["blob_count"]?.text
                print("\(node): \(state), \(blobs ?? row["blob_count"]?.text ?? "?") blobs left")
                if state == "DRAINED" { return }
                if state == "ACTIVE" { throw ValidationError("\(node) was activated again; the drain stopped") }
                try await Task.sleep(for: .seconds(3))
            }
        }
    }
}

/// `dfs activate NODE`: undo a drain.
struct Activate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "activate", abstract: "Undo a drain: the node takes new copies again.")

    @OptionGroup var target: NodeLifecycleTarget

    func run() async throws {
        try await target.call(.POST, "/activate") { $0["message"]?.text }
    }
}

/// `dfs remove NODE`: forget a drained node.
struct RemoveNode: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove",
        abstract: "Forget a DRAINED node (to delete a file, use `dfs rm KEY`).",
        discussion: """
            Refused unless the node is DRAINED (`dfs drain NODE --wait`). With --force any node is removed, and the \
            copies it held are re-made from the other copies.
            """
    )

    @OptionGroup var target: NodeLifecycleTarget

    @Flag(help: "Remove the node even when it is not DRAINED.")
    var force = false

    func run() async throws {
        try await target.call(.DELETE, force ? "?force=true" : "") { _ in "removed \(target.node)" }
    }
}
