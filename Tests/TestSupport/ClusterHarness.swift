import AsyncHTTPClient
import DFSClient
import DFSLauncher
import Foundation

/// Runs `body` against a real gateway and `nodes` real storage nodes (the built `dfs-gateway`/`dfs-node`,
/// from `DFS_BIN_DIR` or beside the test runner), on loopback ports found free at run time, with data and
/// logs in a fresh temp folder.
///
/// The processes are stopped by pid on every path out. When `body` throws, the tail of every log is printed
/// and the temp folder is kept (its path is printed); otherwise it is removed.
///
/// - Parameters:
///   - gatewayArguments: extra gateway flags. Unless given here, the harness adds `--recovery-interval 1s`,
///     `--probe-interval 500ms` and `--health-timeout 1s` so failure tests finish quickly, and
///     `--replicas N` when N < 3.
///   - nodeArguments: extra flags for every node.
///   - perNodeArguments: extra flags for node N (e.g. its `--zone`, `--capacity`).
///   - metadataURL: the gateway's `--metadata`; nil means SQLite in the temp folder.
///   - tls: every member serves HTTPS with a certificate of a CA made for this cluster (`data/tls/ca.pem`), and
///     the cluster's `gateway` and `nodeClient` trust that CA.
public func withCluster<Result>(
    nodes: Int = 3,
    metadataURL: String? = nil,
    gatewayArguments: [String] = [],
    nodeArguments: [String] = [],
    perNodeArguments: [Int: [String]] = [:],
    readinessTimeout: Duration = .seconds(60),
    tls: Bool = false,
    _ body: (TestCluster) async throws -> Result
) async throws -> Result {
    let workDirectory = try makeTemporaryDirectory(prefix: "dfs-cluster")
    let ports = LoopbackPort.free(count: nodes + 1)
    guard ports.count == nodes + 1 else { throw NoFreePorts(wanted: nodes + 1) }
    var clusterMetadata = metadataURL
    if clusterMetadata == nil { clusterMetadata = try await clusterDatabaseFromEnvironment() }
    var configuration = LocalClusterConfiguration(
        gatewayPort: ports[0],
        nodePorts: Array(ports.dropFirst()),
        dataDirectory: workDirectory + "/data",
        metadataURL: clusterMetadata,
        gatewayArguments: harnessDefaults(nodes: nodes, overriddenBy: gatewayArguments) + gatewayArguments,
        nodeArguments: nodeArguments,
        logDirectory: workDirectory + "/logs",
        readinessTimeout: readinessTimeout
    )
    configuration.perNodeArguments = perNodeArguments
    var client = HTTPClient.shared
    if tls {
        let certificates = ClusterCertificates(directory: configuration.defaultCertificateDirectory)
        configuration.certificates = certificates
        var clientConfiguration = HTTPClient.Configuration()
        clientConfiguration.tlsConfiguration = TrustRoots(caFile: certificates.certificateAuthorityFile).clientConfiguration
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: clientConfiguration)
    }
    let cluster = TestCluster(try LocalCluster(configuration), workDirectory: workDirectory, client: client)
    defer {
        if client !== HTTPClient.shared { client.shutdown { _ in } }
    }
    do {
        try await cluster.local.start()
        let result = try await body(cluster)
        await cluster.local.shutdown()
        try? FileManager.default.removeItem(atPath: workDirectory)
        return result
    } catch {
        await cluster.local.shutdown()
        printLogTails(of: cluster, after: error)
        throw error
    }
}

/// The quick-recovery flags, minus any the test sets itself.
private func harnessDefaults(nodes: Int, overriddenBy arguments: [String]) -> [String] {
    var defaults: [(String, String)] = [("--recovery-interval", "1s"), ("--probe-interval", "500ms"), ("--health-timeout", "1s")]
    if nodes < 3 { defaults.append(("--replicas", String(nodes))) }
    return defaults.filter { !arguments.contains($0.0) }.flatMap { [$0.0, $0.1] }
}

private func printLogTails(of cluster: TestCluster, after error: any Error) {
    var report = "withCluster failed: \(error)\nkept \(cluster.workDirectory) for inspection\n"
    for member in cluster.local.configuration.members {
        let tail = cluster.local.logTail(of: member, lines: 60) ?? "(no log)"
        report += "===== \(member) log, last lines =====\n\(tail)\n"
    }
    FileHandle.standardError.write(Data(report.utf8))
}

/// A new empty folder under the system temp directory.
public func makeTemporaryDirectory(prefix: String) throws -> String {
    let path = (NSTemporaryDirectory() as NSString).appendingPathComponent("\(prefix)-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

struct NoFreePorts: Error, CustomStringConvertible {
    let wanted: Int
    var description: String { "could not find \(wanted) free loopback ports" }
}

/// With `DFS_TEST_CLUSTER_BACKEND=mysql`, every cluster that names no metadata runs on a fresh database of the
/// test MariaDB (`DFS_TEST_MYSQL_URL`), so the same integration suites cover both backends (scripts/test.sh
/// runs them a second time that way).
private func clusterDatabaseFromEnvironment() async throws -> String? {
    let environment = ProcessInfo.processInfo.environment
    guard environment["DFS_TEST_CLUSTER_BACKEND"] == "mysql" else { return nil }
    guard let base = environment["DFS_TEST_MYSQL_URL"], let components = URLComponents(string: base),
        let host = components.host, let port = components.port, let user = components.user
    else { throw ClusterDatabaseError(description: "DFS_TEST_CLUSTER_BACKEND=mysql needs DFS_TEST_MYSQL_URL") }
    let database = "dfs_c\(UUID().uuidString.prefix(8).lowercased())"
    let created = try await CommandRun.run(
        "/usr/bin/mariadb",
        ["--no-defaults", "-h", host, "-P", String(port), "-u", user, "-e", "CREATE DATABASE \(database) CHARACTER SET utf8mb4"],
        environment: ["MYSQL_PWD": components.password ?? ""])
    guard created.succeeded else {
        throw ClusterDatabaseError(description: "could not create \(database): \(created.standardError)")
    }
    var url = components
    url.path = "/" + database
    return url.string
}

struct ClusterDatabaseError: Error, CustomStringConvertible {
    let description: String
}
