import AsyncHTTPClient
import DFSClient
import DFSLauncher
import Foundation
import S3Protocol

/// One measured run: optionally a freshly spawned cluster (with proxies and faults), seeding, the workload, and
/// the cluster stopped again. `--compare-routing` runs several of these, one per routing policy.
struct LoadScenario: Sendable {
    var targetURL: String
    var target: TargetKind
    var workload: WorkloadKind
    var fileSize: Int
    var concurrency: Int
    var length: RunLength
    var seedFiles: Int
    /// nil: drive `targetURL` as it is; else spawn a cluster of this many nodes for the run.
    var spawnedNodes: Int?
    var gatewayArguments: [String]
    var impairments: [Int: LinkImpairment]
    var faults: FaultSchedule?
    var showsProgress: Bool
    var apiKey: String? = nil
    /// Signs requests to an S3 target.
    var s3Signer: SigV4Signer? = nil
    /// Whom an https:// target must be signed by (`--cacert`).
    var trustRoots: TrustRoots = .system
    /// Share of a mixed run's operations that delete a file (`--delete-share`).
    var deleteShare: Double = 0
    /// Check every stored and deleted file once the run is over (`--verify-after`, implied by `--churn`).
    var verifiesAfter = false
    /// How long the after-run check waits for every node UP and every file back to full copies.
    var settleLimit: Duration = .seconds(120)

    /// - Parameter label: names the run in the report's charts and tables.
    func run(label: String) async throws -> RunRecord {
        var cluster: LocalCluster? = nil
        var workDirectory: String? = nil
        var targetURL = targetURL
        var proxies: [Int: DelayProxy] = [:]
        defer { proxies.values.forEach { $0.stop() } }
        if let nodes = spawnedNodes {
            let folder = NSTemporaryDirectory() + "dfs-loadtest-\(UUID().uuidString.prefix(8))"
            workDirectory = folder
            let ports = LoopbackPort.free(count: nodes + 1)
            var configuration = LocalClusterConfiguration(
                gatewayPort: ports[0], nodePorts: Array(ports.dropFirst()), dataDirectory: folder + "/data",
                gatewayArguments: gatewayArguments, logDirectory: folder + "/logs")
            for (node, impairment) in impairments.sorted(by: { $0.key < $1.key }) {
                guard node <= nodes else { throw LoadScenarioError(reason: "an impairment names node-\(node), the cluster has \(nodes) nodes") }
                let proxy = try DelayProxy(upstreamPort: configuration.nodePorts[node - 1], impairment: impairment)
                proxies[node] = proxy
                configuration.nodeURLOverrides[node] = "http://127.0.0.1:\(proxy.port)"
                progress("node-\(node) is behind a proxy on port \(proxy.port): \(impairment)")
            }
            let local = try LocalCluster(configuration)
            try await local.start()
            cluster = local
            targetURL = local.gatewayURL
            progress("spawned cluster: gateway \(targetURL) \(gatewayArguments.joined(separator: " ")), \(nodes) nodes, logs in \(folder)/logs")
        }
        var clientConfiguration = HTTPClient.Configuration()
        clientConfiguration.timeout = .init(connect: .seconds(5), read: .seconds(60))
        clientConfiguration.tlsConfiguration = trustRoots.clientConfiguration
        clientConfiguration.connectionPool = .init(
            idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: max(8, concurrency * 2))
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: clientConfiguration)

        let recorder = LatencyRecorder()
        let runner = WorkloadRunner(
            gatewayURL: targetURL, target: target, kind: workload, fileSize: fileSize, concurrency: concurrency,
            length: length, client: client, recorder: recorder, block: RandomBlock.make(count: Payload.chunkSize), apiKey: apiKey,
            deleteShare: deleteShare, s3Signer: s3Signer)
        var record: RunRecord? = nil
        var failure: (any Error)? = nil
        do {
            try await runner.prepareBucket()
            let seeded = workload == .upload ? [] : try await runner.seed(count: seedFiles)
            // Proxy counters start with the measured run, not with the seeding uploads.
            let before = proxies.mapValues { $0.responses }
            let started = ContinuousClock.now
            recorder.start(at: started)
            let ticker = showsProgress ? Task { await showProgress(recorder, started: started) } : nil
            async let faultsApplied: [AppliedFault] = {
                guard let faults, let cluster else { return [] }
                return await faults.run(on: cluster, startedAt: started) { line in progress(line) }
            }()
            let shared = await runner.run(files: seeded)
            let elapsed = ContinuousClock.now - started
            ticker?.cancel()
            _ = await ticker?.value
            let applied = await faultsApplied
            var afterRun: AfterRunCheck? = nil
            if verifiesAfter {
                let outcome = shared.outcome
                progress("checking \(outcome.stored.count) stored and \(outcome.deleted.count) deleted files once the cluster settled")
                afterRun = await AfterRunCheck.run(
                    gatewayURL: targetURL, client: client, stored: outcome.stored, deleted: outcome.deleted,
                    settleLimit: settleLimit, authorize: runner.authorize)
            }
            let linkReport = Dictionary(uniqueKeysWithValues: proxies.map { node, proxy in
                let now = proxy.responses
                let total = now.total - (before[node]?.total ?? 0)
                let stalled = now.stalled - (before[node]?.stalled ?? 0)
                return ("node-\(node)", "\(proxy.impairment); \(total) responses, \(stalled) stalled")
            })
            let snapshot = recorder.snapshot
            var report = LoadReport(
                target: target, workload: workload.rawValue, fileSize: fileSize, concurrency: concurrency, elapsed: elapsed,
                snapshot: snapshot, faults: applied.map(\.summary), linkImpairments: linkReport)
            report.byOperation = runner.tally.snapshot
            report.afterRun = afterRun
            record = RunRecord(
                label: label, summary: report, timeline: snapshot.timeline.seconds(through: elapsed),
                latencyPercentiles: PercentilePoint.distribution(of: snapshot.histogram), faults: applied)
        } catch {
            failure = error
        }
        try? await client.shutdown()
        if let cluster { await cluster.shutdown() }
        // A failed run keeps its folder: the node and gateway logs are what explains it.
        if let workDirectory {
            if failure == nil, (record?.summary.errors ?? 0) == 0, (record?.summary.mismatches ?? 0) == 0,
                record?.summary.afterRun?.isClean ?? true
            {
                try? FileManager.default.removeItem(atPath: workDirectory)
            } else {
                progress("kept \(workDirectory) (logs) because the run had errors")
            }
        }
        if let failure { throw failure }
        return record!
    }
}

struct LoadScenarioError: Error, CustomStringConvertible {
    let reason: String
    var description: String { reason }
}
