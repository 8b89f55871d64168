import ArgumentParser

/// `dfs`: the SwiftDFS command-line client, and `dfs up` to run a whole cluster on this machine.
@main
struct DFS: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dfs",
        abstract: "Store, fetch and inspect files in a SwiftDFS cluster, or run one locally.",
        discussion: """
            Start a local cluster with `dfs up`, then in another terminal:
              dfs put report.pdf          upload; prints the file key
              dfs get KEY                 download to the original name
              dfs ls / dfs nodes / dfs queue
              dfs cluster pause node-1    failover by hand: status, stop, kill, start, pause, resume

            Client commands talk to the gateway named by --gateway or DFS_GATEWAY (default http://127.0.0.1:8080).
            """,
        subcommands: [
            Up.self, ClusterCommand.self, Put.self, Get.self, Remove.self, List.self, Nodes.self, Queue.self, Recover.self,
            Drain.self, Activate.self, RemoveNode.self, PlacementSim.self,
        ]
    )

    @OptionGroup var gateway: GatewayOptions
}
