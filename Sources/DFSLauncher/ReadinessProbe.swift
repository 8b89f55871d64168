import AsyncHTTPClient
import DFSClient
import DFSCore
import NIOCore

/// Polls `GET <url>/health` until it answers 200, the process dies, or the deadline passes.
struct ReadinessProbe {
    var attemptTimeout: Duration = .seconds(1)
    var pollInterval: Duration = .milliseconds(50)

    /// Returns once healthy. Honours task cancellation (Ctrl-C during `dfs up`'s start).
    /// - Throws: `LocalClusterError.exitedBeforeReady` or `.notReady`, or `CancellationError`.
    func waitUntilHealthy(
        _ member: ClusterMember,
        url: String,
        clusterSecret: ClusterSecret? = nil,
        trustRoots: TrustRoots = .system,
        process: ChildProcess,
        timeout: Duration,
        logFile: String?
    ) async throws {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        var interval = pollInterval
        // An https member is probed with a client that trusts the cluster's CA; one client for the whole wait.
        let client: HTTPClient
        if url.hasPrefix("https://") {
            var configuration = HTTPClient.Configuration()
            configuration.tlsConfiguration = trustRoots.clientConfiguration
            client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        } else {
            client = HTTPClient.shared
        }
        defer {
            if client !== HTTPClient.shared { client.shutdown { _ in } }
        }
        while true {
            try Task.checkCancellation()
            if let exit = process.exitStatus {
                let tail = logFile.flatMap { LogTail.lines(30, ofFile: $0) }
                throw LocalClusterError.exitedBeforeReady(member: member, exit: exit, logTail: tail)
            }
            if await isHealthy(url, clusterSecret: clusterSecret, client: client) { return }
            guard clock.now < deadline else {
                throw LocalClusterError.notReady(member: member, url: url, timeout: timeout)
            }
            try await Task.sleep(for: interval)
            interval = min(interval * 2, .milliseconds(250))
        }
    }

    /// One `GET /health`; any failure (refused, timeout, non-200) means not yet.
    func isHealthy(_ url: String, clusterSecret: ClusterSecret? = nil, client: HTTPClient = .shared) async -> Bool {
        do {
            var request = HTTPClientRequest(url: url + "/health")
            if let clusterSecret { request.headers.add(name: ClusterSecret.headerName, value: clusterSecret.value) }
            let response = try await client.execute(request, timeout: .init(attemptTimeout))
            _ = try? await response.body.collect(upTo: 1 << 20)
            return response.status == .ok
        } catch {
            return false
        }
    }
}
