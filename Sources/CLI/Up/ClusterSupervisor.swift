#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
import DFSLauncher
import Foundation

/// Runs `dfs up`: opens the control socket, starts the cluster, reports it, serves `dfs cluster` requests
/// and reports (or restarts) members that die, until Ctrl-C/SIGTERM; then always stops every child before
/// returning the process exit code. The gateway's death does not end it: `dfs cluster start gateway` can
/// bring it back.
struct ClusterSupervisor {
    let configuration: LocalClusterConfiguration
    var restartPolicy: RestartPolicy = .no
    var restartBackoff = RestartBackoff()

    /// Why the cluster stops.
    private enum Ending {
        case signal(Int32)
        case startFailed(any Error)
        case supervisorGone(pid_t)
    }

    func run() async -> Int32 {
        // Handlers go in before any child exists, so no Ctrl-C can kill dfs and orphan its children.
        let signals = ShutdownSignals()
        let cluster: LocalCluster
        do {
            cluster = try LocalCluster(configuration)
        } catch {
            report("dfs up: \(error)")
            return 1
        }
        let controller = ClusterController(cluster: cluster, supervisorPID: getpid(), restartPolicy: restartPolicy)
        let controlServer: ClusterControlServer?
        do {
            try FileManager.default.createDirectory(atPath: configuration.dataDirectory, withIntermediateDirectories: true)
            controlServer = try await ClusterControlServer.open(at: controlSocketPath, controller: controller)
        } catch ClusterControlServerError.inUse(let path) {
            report("dfs up: \(ClusterControlServerError.inUse(path: path))")
            return 1
        } catch {
            report("dfs up: warning: no control socket, so `dfs cluster` cannot reach this cluster: \(error)")
            controlServer = nil
        }
        defer { controlServer?.removeSocketFile() }

        let ending = await firstEnding(cluster: cluster, controller: controller, controlServer: controlServer, signals: signals)
        controller.enter(.stopping)
        switch ending {
        case .signal(let signal):
            report("\ndfs up: \(ProcessExit.name(ofSignal: signal)) received; stopping the cluster (Ctrl-C again to kill it now)")
        case .startFailed(let error):
            report("dfs up: cannot start the cluster: \(describeStartFailure(error))")
        case .supervisorGone(let parent):
            report("dfs up: the process that started dfs (pid \(parent)) is gone; stopping the cluster")
        }
        await stop(cluster, signals: signals)

        switch ending {
        case .signal, .supervisorGone:
            report("dfs up: stopped")
            return 0
        case .startFailed:
            return 1
        }
    }

    private var controlSocketPath: String { ClusterControlServer.path(inDataDirectory: configuration.dataDirectory) }

    /// Starts the cluster and waits for whatever ends it first.
    private func firstEnding(
        cluster: LocalCluster, controller: ClusterController, controlServer: ClusterControlServer?, signals: ShutdownSignals
    ) async -> Ending {
        await withTaskGroup(of: Ending?.self) { group in
            group.addTask {
                await signals.next().map(Ending.signal)
            }
            if let controlServer {
                group.addTask {
                    await controlServer.run()
                    return nil
                }
            }
            group.addTask {
                do {
                    try await cluster.start()
                } catch {
                    return Task.isCancelled ? nil : .startFailed(error)
                }
                controller.enter(.running)
                printBanner(controlAvailable: controlServer != nil)
                await superviseExits(of: cluster)
                return nil
            }
            if let parent = expectedParent() {
                group.addTask { await waitUntilReparented(from: parent) ? .supervisorGone(parent) : nil }
            }
            var ending: Ending?
            while ending == nil, let result = await group.next() {
                ending = result
            }
            group.cancelAll()
            return ending ?? .signal(SIGTERM)
        }
    }

    /// Reports each member that dies on its own and, with `--restart on-failure`, starts it again after a
    /// growing delay, until the task is cancelled.
    private func superviseExits(of cluster: LocalCluster) async {
        await withDiscardingTaskGroup { restarts in
            var backoff = restartBackoff
            for await exit in cluster.unexpectedExits {
                switch restartPolicy {
                case .no:
                    let others = exit.member == .gateway ? "the nodes keep running" : "the cluster keeps running without it"
                    report("dfs up: \(exit); \(others). `dfs cluster start \(exit.member)` starts it again")
                case .onFailure:
                    let delay = backoff.delay(afterFailureOf: exit.member, ranFor: exit.ranFor)
                    report("dfs up: \(exit); restarting it in \(delay.formattedSeconds) (--restart on-failure)")
                    restarts.addTask { await restart(exit.member, firstDelay: delay, in: cluster) }
                }
            }
        }
    }

    /// Restarts `member` after `firstDelay`, trying again with a longer delay while starts fail, until it runs
    /// or someone took it in hand with `dfs cluster` (started, stopped or killed it).
    private func restart(_ member: ClusterMember, firstDelay: Duration, in cluster: LocalCluster) async {
        var delay = firstDelay
        var attempt = 1
        while true {
            do {
                try await Task.sleep(for: delay)
            } catch {
                return
            }
            do {
                guard let pid = try await cluster.restartAfterFailure(member) else { return }
                report("dfs up: restarted \(member) (pid \(pid))")
                return
            } catch {
                if Task.isCancelled { return }
                attempt += 1
                delay = max(delay, restartBackoff.delay(forAttempt: attempt))
                report("dfs up: restarting \(member) failed: \(error); next attempt in \(delay.formattedSeconds)")
            }
        }
    }

    /// Graceful stop; a second signal meanwhile switches to SIGKILL for everything still running.
    private func stop(_ cluster: LocalCluster, signals: ShutdownSignals) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await cluster.shutdown() }
            group.addTask {
                guard await signals.next() != nil else { return }
                report("dfs up: killing the cluster")
                await cluster.killAll()
            }
            await group.next()
            group.cancelAll()
        }
        // A stop that raced the second signal may have left its part undone; this is a no-op otherwise.
        await cluster.shutdown()
    }

    private func printBanner(controlAvailable: Bool) {
        let nodeCount = configuration.nodes.count
        var lines = [
            "SwiftDFS is up: a gateway and \(nodeCount) node\(nodeCount == 1 ? "" : "s"), data in \(configuration.dataDirectory)"
        ]
        var table = TextTable("", "URL", "ROLE", "DATA")
        table.append(["gateway", configuration.gatewayURL, "", Self.maskingPassword(in: configuration.effectiveMetadataURL)])
        for node in configuration.nodes {
            table.append([node.id, node.url, node.role, node.dataDirectory])
        }
        lines.append(table.rendered.split(separator: "\n").dropFirst().map { "  " + $0 }.joined(separator: "\n"))
        if let logDirectory = configuration.logDirectory {
            lines.append("Logs: \(logDirectory)/<name>.log")
        }
        if let secretFile = configuration.clusterSecretFile {
            lines.append("Cluster secret: \(secretFile) (mode 0600; nodes answer only calls that carry it)")
        }
        let dfs = CommandHint.invocation(ofRunningExecutable: ClusterBinaries.runningExecutablePath())
        var gatewayHint =
            configuration.gatewayURL == GatewayOptions.defaultGateway ? "" : "--gateway \(configuration.gatewayURL) "
        if let certificates = configuration.certificates {
            lines.append(
                "TLS CA: \(certificates.certificateAuthorityFile) (clients: --cacert FILE or DFS_CACERT; curl --cacert FILE)")
            gatewayHint += "--cacert \(certificates.certificateAuthorityFile) "
        }
        lines.append("Dashboard: \(configuration.gatewayURL)/")
        if let s3URL = configuration.s3URL, let key = S3CredentialsFile.load(from: configuration.s3CredentialsFile) {
            lines.append(
                "S3 API: \(s3URL) (region us-east-1, path-style; keys in \(configuration.s3CredentialsFile)); for aws, boto3, rclone:"
            )
            lines.append("export AWS_ACCESS_KEY_ID=\(key.accessKeyID)")
            lines.append("export AWS_SECRET_ACCESS_KEY=\(key.secretAccessKey)")
            lines.append("  then e.g. aws --endpoint-url \(s3URL) s3 ls")
        }
        if controlAvailable {
            let dataHint =
                CommandHint.isDefaultDataDirectory(configuration.dataDirectory) ? "" : " --data \(configuration.dataDirectory)"
            lines.append(
                "Failover by hand: \(dfs) cluster status|pause|resume|kill|stop|start MEMBER\(dataHint)   (MEMBER: gateway, node-1…)"
            )
        }
        lines.append("Try: \(dfs) put \(gatewayHint)FILE    (Ctrl-C stops the cluster)")
        // Written straight to the descriptor: through a pipe, print() would sit in a buffer until exit.
        FileHandle.standardOutput.write(Data((lines.joined(separator: "\n") + "\n").utf8))
    }

    /// `mysql://dfs:secret@host/db` → `mysql://dfs:***@host/db`: the banner ends up in terminals and logs.
    static func maskingPassword(in url: String) -> String {
        guard let schemeEnd = url.range(of: "://"), let at = url[schemeEnd.upperBound...].firstIndex(of: "@"),
            let colon = url[schemeEnd.upperBound..<at].firstIndex(of: ":")
        else { return url }
        return String(url[..<url.index(after: colon)]) + "***" + String(url[at...])
    }

    private func describeStartFailure(_ error: any Error) -> String {
        guard case LocalClusterError.portInUse(_, _, let member) = error else { return "\(error)" }
        let flag = member == .gateway ? "--port" : "--node-port"
        return "\(error). Is another `dfs up` running? Choose other ports with \(flag)."
    }

    /// `DFS_PARENT_PID` when a test harness (or another supervisor) started this dfs.
    private func expectedParent() -> pid_t? {
        guard let raw = ProcessInfo.processInfo.environment["DFS_PARENT_PID"], let pid = pid_t(raw), pid > 1 else { return nil }
        return pid
    }

    /// Like the servers' ParentWatchdog: true once this process has been re-parented, false if cancelled.
    private func waitUntilReparented(from parent: pid_t) async -> Bool {
        while !Task.isCancelled {
            if getppid() != parent { return true }
            try? await Task.sleep(for: .milliseconds(500))
        }
        return false
    }
}

/// A line on stderr, flushed at once (stdout may be a pipe, stderr must not wait behind it).
private func report(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}
