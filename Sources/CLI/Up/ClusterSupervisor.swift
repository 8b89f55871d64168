#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
import DFSClient
import Foundation

/// Runs `dfs up`: starts the cluster, reports it, waits for Ctrl-C/SIGTERM (or the gateway dying), and
/// always stops every child before returning the process exit code.
struct ClusterSupervisor {
    let configuration: LocalClusterConfiguration

    /// Why the cluster stops.
    private enum Ending {
        case signal(Int32)
        case gatewayDied(ClusterMemberExit)
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

        let ending = await firstEnding(cluster: cluster, signals: signals)
        switch ending {
        case .signal(let signal):
            report("\ndfs up: \(ProcessExit.name(ofSignal: signal)) received; stopping the cluster (Ctrl-C again to kill it now)")
        case .gatewayDied(let exit):
            report("dfs up: the gateway stopped unexpectedly (\(exit.exit)); stopping the nodes")
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
        case .gatewayDied, .startFailed:
            return 1
        }
    }

    /// Starts the cluster and waits for whatever ends it first.
    private func firstEnding(cluster: LocalCluster, signals: ShutdownSignals) async -> Ending {
        await withTaskGroup(of: Ending?.self) { group in
            group.addTask {
                await signals.next().map(Ending.signal)
            }
            group.addTask {
                do {
                    try await cluster.start()
                } catch {
                    return Task.isCancelled ? nil : .startFailed(error)
                }
                printBanner()
                for await exit in cluster.unexpectedExits {
                    if exit.member == .gateway { return .gatewayDied(exit) }
                    report("dfs up: \(exit); the cluster keeps running without it")
                }
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

    private func printBanner() {
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
        var gatewayHint =
            configuration.gatewayURL == GatewayOptions.defaultGateway ? "" : "--gateway \(configuration.gatewayURL) "
        if let certificates = configuration.certificates {
            lines.append(
                "TLS CA: \(certificates.certificateAuthorityFile) (clients: --cacert FILE or DFS_CACERT; curl --cacert FILE)")
            gatewayHint += "--cacert \(certificates.certificateAuthorityFile) "
        }
        lines.append("Try: dfs put \(gatewayHint)FILE    (Ctrl-C stops the cluster)")
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
