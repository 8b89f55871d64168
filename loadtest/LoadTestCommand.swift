import ArgumentParser
import AsyncHTTPClient
import DFSClient
import DFSOptions
import Foundation

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

    @Option(help: "Gateway to test (ignored with --spawn-cluster).") var gateway = "http://127.0.0.1:8080"
    @Option(help: "upload, download or mixed.") var workload: String = "mixed"
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
    @Option(help: "Add one-way latency in front of spawned nodes through a TCP delay proxy: node-2=50ms[,node-3=10ms].")
    var delay: String?
    @Option(parsing: .unconditionalSingleValue, help: "Extra flags for the spawned gateway, e.g. --gateway-arg --probe-interval --gateway-arg 1s.")
    var gatewayArg: [String] = []

    func validate() throws {
        guard WorkloadKind(rawValue: workload) != nil else { throw ValidationError("--workload must be upload, download or mixed") }
        guard concurrency >= 1 else { throw ValidationError("--concurrency must be at least 1") }
        guard size.bytes >= 1 else { throw ValidationError("--size must be at least 1 byte") }
        if delay != nil && !spawnCluster { throw ValidationError("--delay needs --spawn-cluster: the proxy sits in front of the tool's own nodes") }
        if fault != nil && !spawnCluster { throw ValidationError("--fault needs --spawn-cluster: faults are applied to the tool's own cluster") }
        if count != nil && duration != nil { throw ValidationError("give --count or --duration, not both") }
    }

    func run() async throws {
        let schedule = try fault.map(FaultSchedule.init(parsing:))
        var cluster: LocalCluster? = nil
        var workDirectory: String? = nil
        var gatewayURL = gateway
        var proxies: [DelayProxy] = []
        defer { proxies.forEach { $0.stop() } }
        if spawnCluster {
            let folder = NSTemporaryDirectory() + "dfs-loadtest-\(UUID().uuidString.prefix(8))"
            workDirectory = folder
            let ports = LoopbackPort.free(count: nodes + 1)
            var configuration = LocalClusterConfiguration(
                gatewayPort: ports[0], nodePorts: Array(ports.dropFirst()), dataDirectory: folder + "/data",
                gatewayArguments: gatewayArg, logDirectory: folder + "/logs")
            for (node, latency) in try parseDelays(delay) {
                guard node >= 1 && node <= nodes else { throw ValidationError("--delay names node-\(node), the cluster has \(nodes) nodes") }
                let proxy = try DelayProxy(upstreamPort: configuration.nodePorts[node - 1], delay: latency)
                proxies.append(proxy)
                configuration.nodeURLOverrides[node] = "http://127.0.0.1:\(proxy.port)"
                progress("node-\(node) is behind a \(latency) delay proxy on port \(proxy.port)")
            }
            let local = try LocalCluster(configuration)
            try await local.start()
            cluster = local
            gatewayURL = local.gatewayURL
            progress("spawned cluster: gateway \(gatewayURL), \(nodes) nodes, logs in \(folder)/logs")
        }
        var clientConfiguration = HTTPClient.Configuration()
        clientConfiguration.timeout = .init(connect: .seconds(5), read: .seconds(60))
        clientConfiguration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: max(8, concurrency * 2))
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: clientConfiguration)

        let recorder = LatencyRecorder()
        let runner = WorkloadRunner(
            gatewayURL: gatewayURL, kind: WorkloadKind(rawValue: workload)!, fileSize: Int(size.bytes), concurrency: concurrency,
            length: duration.map { .duration($0.duration) } ?? .count(count ?? 100), client: client, recorder: recorder,
            block: RandomBlock.make(count: Payload.chunkSize))
        var report: LoadReport? = nil
        var failure: (any Error)? = nil
        do {
            let seeded = WorkloadKind(rawValue: workload) == .upload ? [] : try await runner.seed(count: seedFiles)
            let started = ContinuousClock.now
            let ticker = Task { await showProgress(recorder, started: started) }
            async let faultsApplied: [String] = {
                guard let schedule, let cluster else { return [] }
                return await schedule.run(on: cluster) { line in progress(line) }
            }()
            await runner.run(files: seeded)
            let elapsed = ContinuousClock.now - started
            ticker.cancel()
            let applied = await faultsApplied
            report = LoadReport(
                workload: workload, fileSize: Int(size.bytes), concurrency: concurrency, elapsed: elapsed,
                snapshot: recorder.snapshot, faults: applied)
        } catch {
            failure = error
        }
        try? await client.shutdown()
        if let cluster { await cluster.shutdown() }
        if let workDirectory, failure == nil, (report?.errors ?? 0) == 0 { try? FileManager.default.removeItem(atPath: workDirectory) }
        if let failure { throw failure }
        guard let report else { return }
        print(json ? report.json : report.table)
        if report.mismatches > 0 { throw ExitCode(2) }
    }
}

/// `node-2=50ms,node-3=10ms` → [(2, 50ms), (3, 10ms)].
func parseDelays(_ text: String?) throws -> [(Int, Duration)] {
    guard let text else { return [] }
    return try text.split(separator: ",").map { entry in
        let parts = entry.split(separator: "=")
        guard parts.count == 2, parts[0].hasPrefix("node-"), let node = Int(parts[0].dropFirst(5)),
            let latency = DurationArgument(argument: String(parts[1]))?.duration
        else { throw ValidationError("--delay entry '\(entry)' is not node-N=DURATION") }
        return (node, latency)
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
