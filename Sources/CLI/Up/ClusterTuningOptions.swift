import DFSOptions
import ArgumentParser

/// The gateway's tuning flags, forwarded verbatim: the gateway validates them and says what is wrong.
/// Left out, they are not passed, so the gateway's own defaults and `DFS_*` variables apply.
struct ClusterTuningOptions: ParsableArguments {
    @Option(help: "How often the gateway probes nodes and drains the queue, e.g. 30s.")
    var recoveryInterval: String?

    @Option(help: "How often the gateway probes node health and latency, e.g. 5s.")
    var probeInterval: String?

    @Option(help: "Node choice: latency (default), round-robin or random.")
    var routing: String?

    @Option(help: "Time limit of one health probe, e.g. 2s.")
    var healthTimeout: String?

    @Option(help: "Attempts before a queue item becomes FAILED.")
    var maxRetries: String?

    @Option(help: "Copies to keep of each file (default 3, or the node count when fewer).")
    var replicas: String?

    @Option(help: "Verified copies an upload needs before it is answered 200.")
    var writeQuorum: String?

    @Option(help: "Largest accepted upload, e.g. 10GiB.")
    var maxUploadSize: String?

    @Option(help: "Time limit of one gateway-to-node request, e.g. 30s.")
    var nodeTimeout: String?

    @Option(help: "Consecutive failed requests that take a node out of selection until a probe succeeds (gateway default 2).")
    var ejectAfter: String?

    @Option(help: "Mid-download, a source silent this long is replaced by another replica at the byte reached, e.g. 2s.")
    var stallTimeout: String?

    @Option(
        help:
            "Upload bodies up to this size are kept in gateway memory so one whose primary hangs is sent to the next node, e.g. 8MiB (0 disables)."
    )
    var replayBuffer: String?

    @Option(
        help: "Hedged reads: bounds MIN[,MAX] of the wait for a replica's first byte before another is asked, e.g. 20ms,500ms.")
    var hedgeAfter: String?

    @Option(help: "Share of downloads that may send a hedge request, e.g. 5%.")
    var hedgeBudget: String?

    @Flag(help: "Switch the gateway's hedged reads off.")
    var noHedging = false

    @Option(help: "Log level of the gateway and the nodes: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String?

    @Option(
        help:
            "Client API keys file for the gateway ('read-only TOKEN' / 'read-write TOKEN' lines); needed with a non-loopback --host."
    )
    var apiKeysFile: String?

    @Option(
        parsing: .unconditionalSingleValue,
        help:
            "Any other gateway flag, passed as is; repeat it for each word, e.g. --gateway-arg --audit-interval --gateway-arg 10m."
    )
    var gatewayArg: [String] = []

    /// What `dfs up` appends to the gateway's command line.
    func gatewayArguments(nodeCount: Int) -> [String] {
        var replicas = self.replicas
        // Three copies cannot exist on fewer nodes; unless told otherwise, ask for one per node.
        if replicas == nil, nodeCount < 3, OptionEnvironment.value(for: "replicas") == nil {
            replicas = String(nodeCount)
        }
        let pairs: [(String, String?)] = [
            ("--recovery-interval", recoveryInterval), ("--probe-interval", probeInterval), ("--routing", routing),
            ("--health-timeout", healthTimeout), ("--max-retries", maxRetries),
            ("--replicas", replicas), ("--write-quorum", writeQuorum), ("--max-upload-size", maxUploadSize),
            ("--node-timeout", nodeTimeout), ("--eject-after", ejectAfter), ("--stall-timeout", stallTimeout),
            ("--replay-buffer", replayBuffer),
            ("--hedge-after", hedgeAfter), ("--hedge-budget", hedgeBudget), ("--log-level", logLevel),
            ("--api-keys-file", apiKeysFile),
        ]
        let flags = noHedging ? ["--no-hedging"] : []
        return pairs.flatMap { flag, value in value.map { [flag, $0] } ?? [] } + flags + gatewayArg
    }

    var nodeArguments: [String] {
        logLevel.map { ["--log-level", $0] } ?? []
    }
}
