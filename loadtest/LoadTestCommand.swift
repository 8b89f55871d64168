import ArgumentParser
import AsyncHTTPClient
import DFSClient
import DFSLauncher
import DFSOptions
import Foundation
import S3Protocol

@main
struct LoadTestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dfs-loadtest",
        abstract: "Measure a SwiftDFS gateway: throughput, latency percentiles, errors and checksum mismatches.",
        discussion: """
            Every uploaded file is generated on the fly and its SHA-256 checked against the gateway's answer; \
            every downloaded byte is hashed and compared. With --spawn-cluster the tool starts its own gateway \
            and nodes (the binaries beside it, or DFS_BIN_DIR) on free loopback ports and can inject node \
            faults with --fault, e.g. kill:node-2@10s,start:node-2@25s.
            """)

    @Option(help: "Server to test: a gateway URL, with --target-kind webdav the base URL files are PUT under, with s3 the S3 URL and bucket (http://127.0.0.1:9000/BUCKET) (ignored with --spawn-cluster).")
    var gateway = "http://127.0.0.1:8080"
    @Option(help: "gateway (SwiftDFS: POST /upload, GET /download/KEY), webdav (plain PUT/GET of URL/NAME, e.g. nginx as a one-copy baseline) or s3 (the S3 API: signed PUT/GET of URL/NAME with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY).")
    var targetKind: String = "gateway"
    @Option(help: "upload, download or mixed.") var workload: String = "mixed"
    @Option(help: "API key sent as Authorization: Bearer to a gateway with keys on (read-write for uploads); DFS_API_KEY sets it too.")
    var apiKey: String?
    @Option(help: "PEM CA certificate an https:// gateway must be signed by, e.g. dfs-data/tls/ca.pem of `dfs up --tls`; DFS_CACERT sets it too (default: the system's roots).")
    var cacert: String?
    @Option(help: "Size of each file, e.g. 4KiB, 1MiB, 64MiB.") var size = ByteSizeArgument(argument: "1MiB")!
    @Option(help: "Number of operations (default 100 unless --duration is given).") var count: Int?
    @Option(help: "Run for this long instead of a count, e.g. 60s.") var duration: DurationArgument?
    @Option(help: "Operations in flight at once.") var concurrency = 4
    @Option(help: "Files uploaded before a download or mixed run starts.") var seedFiles = 8
    @Flag(help: "Print the report as JSON.") var json = false
    @Flag(help: "Start a local cluster (gateway + nodes) for this run and stop it afterwards.") var spawnCluster = false
    @Option(help: "Nodes of the spawned cluster.") var nodes = 3
    @Option(help: "Node faults for a spawned cluster: ACTION:node-N@TIME,… with kill, stop, start, pause, resume.")
    var fault: String?
    @Option(help: "Churn a spawned cluster, the schedule drawn from this seed: one node faulty at a time, killed or paused for 2-5 s, then restored as the next one fails; the last is restored at the end. Implies --verify-after.")
    var churn: UInt64?
    @Option(help: "Percent of a mixed run's operations that delete a stored file (gateway only); the rest are half uploads, half downloads.")
    var deleteShare: Double = 0
    @Flag(help: "Once the run is over, wait for every node UP and every file back to full copies (up to --settle-limit), then read back every stored file and ask for every deleted one: lost, wrong or resurrected files fail the run.")
    var verifyAfter = false
    @Option(help: "How long --verify-after waits for the cluster to settle.") var settleLimit = DurationArgument(argument: "120s")!
    @Option(help: "Add one-way latency in front of spawned nodes through a TCP delay proxy: node-2=50ms[,node-3=10ms].")
    var delay: String?
    @Option(help: "Stall a share of a spawned node's responses before their first byte (per request, also on keep-alive connections): node-2=200ms@10%.")
    var stall: String?
    @Option(parsing: .unconditionalSingleValue, help: "Extra flags for the spawned gateway, e.g. --gateway-arg --probe-interval --gateway-arg 1s.")
    var gatewayArg: [String] = []
    @Option(help: "Routing policy of the spawned gateway: latency, round-robin or random (passes --routing; for comparisons).")
    var routing: String?
    @Flag(help: "Run the workload once per routing policy (latency, round-robin, random), each on a fresh spawned cluster, and print the ratios against latency routing; with --delay/--stall, first a run without impairment as the baseline.")
    var compareRouting = false
    @Option(help: OptionEnvironment.help("Also write an HTML report to this file: latency (p50/p99) and throughput over time with each --fault marked, and the latency CDF; one self-contained file, nothing to fetch when it is opened.", "report"))
    var report: String?
    @Option(help: OptionEnvironment.help("Also write the report's data to this JSON file for a notebook: per-second timeline, latency percentiles, faults with their times, the comparison.", "report-json"))
    var reportJson: String?

    func validate() throws {
        guard WorkloadKind(rawValue: workload) != nil else { throw ValidationError("--workload must be upload, download or mixed") }
        guard let kind = TargetKind(rawValue: targetKind) else {
            throw ValidationError("--target-kind must be gateway, webdav or s3")
        }
        if kind == .s3, ProcessInfo.processInfo.environment["AWS_ACCESS_KEY_ID"] == nil
            || ProcessInfo.processInfo.environment["AWS_SECRET_ACCESS_KEY"] == nil
        {
            throw ValidationError("--target-kind s3 signs with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY: export both")
        }
        guard concurrency >= 1 else { throw ValidationError("--concurrency must be at least 1") }
        guard size.bytes >= 1 else { throw ValidationError("--size must be at least 1 byte") }
        guard (0...100).contains(deleteShare) else { throw ValidationError("--delete-share is a percentage, 0 to 100") }
        if deleteShare > 0 && (workload != "mixed" || kind != .gateway) {
            throw ValidationError("--delete-share needs --workload mixed against a gateway")
        }
        if (verifyAfter || churn != nil) && kind != .gateway { throw ValidationError("--verify-after needs a gateway") }
        if churn != nil && fault != nil { throw ValidationError("give --churn or --fault, not both") }
        if churn != nil && duration == nil { throw ValidationError("--churn needs --duration: the schedule spans the run") }
        let needsCluster = [("--churn", churn != nil), ("--delay", delay != nil), ("--stall", stall != nil), ("--fault", fault != nil),
                            ("--routing", routing != nil), ("--compare-routing", compareRouting)]
        for (option, isGiven) in needsCluster where isGiven && !spawnCluster {
            throw ValidationError("\(option) needs --spawn-cluster: it acts on the tool's own cluster")
        }
        if spawnCluster && kind != .gateway {
            throw ValidationError("--target-kind \(kind.rawValue) drives an existing server; it cannot be spawned")
        }
        if let routing, !RoutingComparison.policies.contains(routing) {
            throw ValidationError("--routing must be one of \(RoutingComparison.policies.joined(separator: ", "))")
        }
        if routing != nil && compareRouting { throw ValidationError("give --routing or --compare-routing, not both") }
        if count != nil && duration != nil { throw ValidationError("give --count or --duration, not both") }
        let impairments = try LinkImpairment.parse(delays: delay, stalls: stall)
        if let node = impairments.keys.first(where: { $0 > nodes }) {
            throw ValidationError("--delay/--stall name node-\(node), the cluster has \(nodes) nodes")
        }
    }

    func run() async throws {
        var faults = try fault.map(FaultSchedule.init(parsing:))
        if let churn, let duration {
            faults = FaultSchedule.churn(seed: churn, nodes: nodes, duration: duration.duration)
        }
        var scenario = LoadScenario(
            targetURL: gateway, target: TargetKind(rawValue: targetKind)!, workload: WorkloadKind(rawValue: workload)!,
            fileSize: Int(size.bytes), concurrency: concurrency,
            length: duration.map { .duration($0.duration) } ?? .count(count ?? 100), seedFiles: seedFiles,
            spawnedNodes: spawnCluster ? nodes : nil, gatewayArguments: gatewayArg,
            impairments: try LinkImpairment.parse(delays: delay, stalls: stall), faults: faults,
            showsProgress: !json, apiKey: apiKey ?? ProcessInfo.processInfo.environment["DFS_API_KEY"],
            trustRoots: TrustRoots(caFile: cacert ?? OptionEnvironment.value(for: "cacert")))
        scenario.deleteShare = deleteShare / 100
        let environment = ProcessInfo.processInfo.environment
        if scenario.target == .s3, let accessKey = environment["AWS_ACCESS_KEY_ID"],
            let secret = environment["AWS_SECRET_ACCESS_KEY"]
        {
            scenario.s3Signer = SigV4Signer(
                credential: S3Credential(accessKeyID: accessKey, secretAccessKey: secret, name: "loadtest", readOnly: false),
                region: environment["AWS_REGION"] ?? environment["AWS_DEFAULT_REGION"] ?? "us-east-1")
        }
        scenario.verifiesAfter = verifyAfter || churn != nil
        scenario.settleLimit = settleLimit.duration
        if compareRouting {
            let (runs, comparison) = try await compare(scenario)
            try writeReports(ReportDocument(runs: runs, comparison: comparison))
            print(json ? comparison.json : comparison.table)
            if comparison.rows.contains(where: { $0.report.mismatches > 0 }) { throw ExitCode(2) }
            return
        }
        var single = scenario
        if let routing { single.gatewayArguments += ["--routing", routing] }
        let record = try await single.run(label: routing ?? "run")
        try writeReports(ReportDocument(runs: [record], comparison: nil))
        print(json ? record.summary.json : record.summary.table)
        if record.summary.mismatches > 0 || record.summary.afterRun?.isClean == false { throw ExitCode(2) }
    }

    private func compare(_ scenario: LoadScenario) async throws -> (runs: [RunRecord], comparison: RoutingComparison) {
        var baseline: RunRecord? = nil
        if !scenario.impairments.isEmpty {
            var unimpaired = scenario
            unimpaired.impairments = [:]
            unimpaired.gatewayArguments += ["--routing", "latency"]
            progress("baseline: latency routing, no impairment")
            baseline = try await unimpaired.run(label: RoutingComparison.baselineLabel)
        }
        var runs: [RunRecord] = []
        for policy in RoutingComparison.policies {
            var run = scenario
            run.gatewayArguments += ["--routing", policy]
            progress("routing \(policy)")
            runs.append(try await run.run(label: policy))
        }
        let comparison = RoutingComparison(baseline: baseline?.summary, reports: runs.map { ($0.label, $0.summary) })
        return ((baseline.map { [$0] } ?? []) + runs, comparison)
    }

    /// `--report` and `--report-json`, when asked for (also from DFS_REPORT, DFS_REPORT_JSON).
    private func writeReports(_ document: ReportDocument) throws {
        if let path = report ?? OptionEnvironment.value(for: "report") {
            try Data(HTMLReport(document).html.utf8).write(to: URL(fileURLWithPath: path))
            progress("report: \(path)")
        }
        if let path = reportJson ?? OptionEnvironment.value(for: "report-json") {
            try document.json.write(to: URL(fileURLWithPath: path))
            progress("report data: \(path)")
        }
    }
}

/// One status line on stderr, rewritten in place, only when stderr is a terminal.
func showProgress(_ recorder: LatencyRecorder, started: ContinuousClock.Instant) async {
    guard isatty(STDERR_FILENO) == 1 else { return }
    while !Task.isCancelled {
        try? await Task.sleep(for: .milliseconds(500))
        let snapshot = recorder.snapshot
        let seconds = max(0.001, Double((ContinuousClock.now - started).components.seconds) + Double((ContinuousClock.now - started).components.attoseconds) / 1e18)
        let line = String(format: "\r%6.1fs  %d ops  %.1f ops/s  %.1f MB/s  errors %d  mismatches %d   ",
                          seconds, snapshot.operations, Double(snapshot.operations) / seconds, Double(snapshot.bytes) / 1e6 / seconds,
                          snapshot.errors, snapshot.mismatches)
        FileHandle.standardError.write(Data(line.utf8))
    }
    FileHandle.standardError.write(Data("\n".utf8))
}

func progress(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}
