import AsyncHTTPClient
import DFSClient
import DFSCore
import DFSLauncher
import Foundation
import Synchronization
import TestSupport
import Testing

/// The gateway and each node in a network namespace of their own, joined by veth pairs (a /30 per link), bound to
/// those addresses with TLS, API keys and the cluster secret on: nothing may silently assume loopback. Traffic goes
/// only to addresses of namespaces this test made; they are removed on every path out.
@Suite("A cluster across network namespaces", .serialized)
struct NetworkNamespaceTests {
    @Test("gateway and three nodes in their own namespaces, over TLS with keys and secret: upload, replicate, download")
    func clusterAcrossNamespaces() async throws {
        if let reason = NamespaceLab.unavailableReason() {
            print("NetworkNamespaceTests skipped: \(reason)")
            try Test.cancel("network namespaces unavailable: \(reason)")
        }
        let lab = try await NamespaceLab.make(nodeCount: 3)
        do {
            try await lab.run { gatewayURL, client, apiKey in
                let gateway = HTTPTestClient(baseURL: gatewayURL, client: client).withAPIKey(apiKey)
                try await eventually("all three nodes are UP behind the gateway", timeout: .seconds(30)) {
                    let nodes = try await gateway.get("/nodes").expectingSuccess().jsonArray()
                    return nodes.count == 3 && nodes.allSatisfy { $0["status"] as? String == "UP" }
                }
                let nodes = try await gateway.get("/nodes").expectingSuccess().jsonArray()
                #expect(nodes.allSatisfy { ($0["address"] as? String)?.hasPrefix("https://10.231.") == true }, "\(nodes)")
                for (index, size) in [4 << 10, 5 << 20 + 3].enumerated() {
                    let body = randomBytes(size)
                    let answer = try await gateway.uploadRaw(body, filename: "netns-\(index).bin").expectingSuccess()
                        .json(UploadAnswer.self)
                    #expect(answer.replicas.count == 3, "\(answer.replicas.map(\.node_id))")
                    let copy = try await gateway.download(answer.file_id).expectingSuccess()
                    #expect(sha256Hex(copy.body) == sha256Hex(body))
                }
                // Without the API key the gateway refuses, even across the network.
                let anonymous = HTTPTestClient(baseURL: gatewayURL, client: client)
                #expect(try await anonymous.get("/files").status == 401)
            }
        } catch {
            lab.printLogs()
            await lab.tearDown()
            throw error
        }
        await lab.tearDown()
    }
}

/// Namespaces, links, certificates and processes of one run.
final class NamespaceLab: Sendable {
    let prefix: String
    let folder: String
    let nodeCount: Int
    let certificates: ClusterCertificates
    let gatewayPort = 8443
    let nodePort = 9443
    private let processes = ProcessList()

    var gatewayNamespace: String { prefix + "-gw" }
    func nodeNamespace(_ number: Int) -> String { prefix + "-n\(number)" }
    /// Link N joins the gateway (`.1`) and node N (`.2`); link 100 joins this process's namespace (`.1`) and the gateway (`.2`).
    static func address(link: Int, side: Int) -> String { "10.231.\(link).\(side)" }
    static let clientLink = 100

    private init(prefix: String, folder: String, nodeCount: Int) {
        self.prefix = prefix
        self.folder = folder
        self.nodeCount = nodeCount
        self.certificates = ClusterCertificates(directory: folder + "/tls")
    }

    /// Why the test cannot run here, or nil.
    static func unavailableReason() -> String? {
        guard getuid() == 0 else { return "not running as root (ip netns needs it)" }
        guard
            FileManager.default.isExecutableFile(atPath: "/usr/sbin/ip")
                || FileManager.default.isExecutableFile(atPath: "/sbin/ip")
        else { return "the ip command (iproute2) is not installed" }
        return nil
    }

    static func make(nodeCount: Int) async throws -> NamespaceLab {
        let tag = String(UInt32.random(in: 0...UInt32.max), radix: 36)
        let lab = NamespaceLab(
            prefix: "dfst\(tag)", folder: try makeTemporaryDirectory(prefix: "dfs-netns"), nodeCount: nodeCount)
        do {
            try await lab.buildNetwork()
        } catch {
            await lab.tearDown()
            throw NamespaceUnavailable(reason: "\(error)")
        }
        return lab
    }

    private func buildNetwork() async throws {
        let routes = try await sh("ip -4 route show")
        guard !routes.standardOutput.contains("10.231.") else {
            throw NamespaceUnavailable(reason: "10.231.0.0/16 is already routed on this machine: \(routes.standardOutput)")
        }
        let gw = gatewayNamespace
        try await sh("ip netns add \(gw) && ip -n \(gw) link set lo up")
        // The gateway's namespace forwards between its links, so nodes reach each other (replication) through it.
        try await sh("ip netns exec \(gw) sysctl -q -w net.ipv4.ip_forward=1")
        for number in 1...nodeCount {
            let ns = nodeNamespace(number)
            let link = 10 + number
            try await sh(
                """
                ip netns add \(ns) && ip -n \(ns) link set lo up && \
                ip link add \(prefix)g\(number) netns \(gw) type veth peer name \(prefix)n\(number) netns \(ns) && \
                ip -n \(gw) addr add \(Self.address(link: link, side: 1))/30 dev \(prefix)g\(number) && \
                ip -n \(ns) addr add \(Self.address(link: link, side: 2))/30 dev \(prefix)n\(number) && \
                ip -n \(gw) link set \(prefix)g\(number) up && ip -n \(ns) link set \(prefix)n\(number) up && \
                ip -n \(ns) route add 10.231.0.0/16 via \(Self.address(link: link, side: 1))
                """)
        }
        let link = Self.clientLink
        try await sh(
            """
            ip link add \(prefix)c type veth peer name \(prefix)cg netns \(gw) && \
            ip addr add \(Self.address(link: link, side: 1))/30 dev \(prefix)c && \
            ip -n \(gw) addr add \(Self.address(link: link, side: 2))/30 dev \(prefix)cg && \
            ip link set \(prefix)c up && ip -n \(gw) link set \(prefix)cg up
            """)
    }

    /// Starts the cluster with TLS, keys and secret, and runs `body` with the gateway's URL, a client trusting the
    /// CA, and a read-write API key.
    func run(_ body: (String, HTTPClient, String) async throws -> Void) async throws {
        let gatewayAddresses =
            (1...nodeCount).map { Self.address(link: 10 + $0, side: 1) } + [
                Self.address(link: Self.clientLink, side: 2)
            ]
        try certificates.ensure(members: [], host: "127.0.0.1")
        try certificates.issue(
            for: "gateway", names: ["localhost"] + gatewayAddresses, key: certificates.keyFile(of: .gateway),
            certificate: certificates.certificateFile(of: .gateway))
        for number in 1...nodeCount {
            try certificates.issue(
                for: "node-\(number)", names: [Self.address(link: 10 + number, side: 2)],
                key: certificates.keyFile(of: .node(number)), certificate: certificates.certificateFile(of: .node(number)))
        }
        let secretFile = folder + "/cluster-secret"
        _ = try ClusterSecretFile.loadOrCreate(at: secretFile)
        let apiKey = "netns-key-" + UUID().uuidString
        try "read-write \(apiKey) test\n".write(toFile: folder + "/api-keys", atomically: true, encoding: .utf8)
        let binaries = ClusterBinaries.directory()

        for number in 1...nodeCount {
            let member = ClusterMember.node(number)
            let own = Self.address(link: 10 + number, side: 2)
            try launch(
                "node-\(number)", namespace: nodeNamespace(number), binary: binaries + "/" + ClusterBinaries.nodeName,
                [
                    "--id", "node-\(number)", "--host", own, "--port", String(nodePort), "--data", folder + "/node-\(number)",
                    "--gateway", "https://\(Self.address(link: 10 + number, side: 1)):\(gatewayPort)",
                    "--heartbeat-interval", "1s", "--cluster-secret-file", secretFile,
                    "--tls-cert", certificates.certificateFile(of: member), "--tls-key", certificates.keyFile(of: member),
                    "--tls-ca", certificates.certificateAuthorityFile,
                ])
        }
        var gatewayArguments = [
            "--host", "0.0.0.0", "--port", String(gatewayPort), "--metadata", "sqlite:\(folder)/metadata.sqlite",
            "--cluster-secret-file", secretFile, "--api-keys-file", folder + "/api-keys",
            "--tls-cert", certificates.certificateFile(of: .gateway), "--tls-key", certificates.keyFile(of: .gateway),
            "--tls-ca", certificates.certificateAuthorityFile, "--probe-interval", "500ms", "--health-timeout", "2s",
        ]
        for number in 1...nodeCount {
            gatewayArguments += ["--node", "node-\(number)=https://\(Self.address(link: 10 + number, side: 2)):\(nodePort)"]
        }
        try launch("gateway", namespace: gatewayNamespace, binary: binaries + "/" + ClusterBinaries.gatewayName, gatewayArguments)

        var configuration = HTTPClient.Configuration()
        configuration.tlsConfiguration = TrustRoots(caFile: certificates.certificateAuthorityFile).clientConfiguration
        configuration.timeout = .init(connect: .seconds(2), read: .seconds(30))
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        defer { client.shutdown { _ in } }
        let gatewayURL = "https://\(Self.address(link: Self.clientLink, side: 2)):\(gatewayPort)"
        try await eventually("the gateway answers /health across the namespaces", timeout: .seconds(30)) {
            try await HTTPTestClient(baseURL: gatewayURL, timeout: .seconds(2), client: client).get("/health").status == 200
        }
        try await body(gatewayURL, client, apiKey)
    }

    private func launch(_ name: String, namespace: String, binary: String, _ arguments: [String]) throws {
        let ip = FileManager.default.isExecutableFile(atPath: "/usr/sbin/ip") ? "/usr/sbin/ip" : "/sbin/ip"
        // `ip netns exec` replaces itself with the binary, so the pid is the server's and DFS_PARENT_PID still holds.
        let process = try ChildProcess.launch(
            name: name, executable: ip, arguments: ["netns", "exec", namespace, binary] + arguments,
            environment: ProcessInfo.processInfo.environment.merging(["DFS_PARENT_PID": String(getpid())]) { _, new in new },
            output: .file(folder + "/\(name).log"))
        processes.append(process)
    }

    func printLogs() {
        var report = "network namespace test failed; logs in \(folder)\n"
        for name in ["gateway"] + (1...nodeCount).map({ "node-\($0)" }) {
            report += "===== \(name) =====\n\(LogTail.lines(40, ofFile: folder + "/\(name).log") ?? "(no log)")\n"
        }
        FileHandle.standardError.write(Data(report.utf8))
    }

    /// Stops every process, then removes the namespaces (which removes their veth ends and so the links).
    func tearDown() async {
        for process in processes.all {
            process.requestStop(with: SIGKILL)
            _ = await process.waitForExit(timeout: .seconds(10))
        }
        for namespace in [gatewayNamespace] + (1...nodeCount).map(nodeNamespace) {
            _ = try? await sh("ip netns del \(namespace) 2>/dev/null || true")
        }
        _ = try? await sh("ip link del \(prefix)c 2>/dev/null || true")
    }

    @discardableResult
    private func sh(_ script: String) async throws -> CommandRun {
        let run = try await CommandRun.run("/bin/sh", ["-c", script], timeout: .seconds(30))
        guard run.succeeded else { throw NamespaceUnavailable(reason: "`\(script)` failed: \(run.standardError)") }
        return run
    }
}

struct NamespaceUnavailable: Error, CustomStringConvertible {
    let reason: String
    var description: String { "network namespace setup failed: \(reason)" }
}

/// The processes a lab started, for teardown.
private final class ProcessList: Sendable {
    private let items = Mutex<[ChildProcess]>([])
    func append(_ process: ChildProcess) { items.withLock { $0.append(process) } }
    var all: [ChildProcess] { items.withLock { $0 } }
}
