import DFSLauncher
import Foundation
import TestSupport
import Testing

/// The clients' own checks of what they download, against a stand-in gateway that announces one SHA-256 and
/// sends other bytes: a real gateway never does, so only these tests notice if a check is lost.
@Suite("dfs get and dfs-loadtest check downloaded bytes themselves")
struct ClientVerificationTests {
    static let dfsPath = ClusterBinaries.directory() + "/" + ClusterBinaries.cliName
    static let loadTestPath = ClusterBinaries.directory() + "/dfs-loadtest"

    @Test("dfs get writes the announced bytes from an honest gateway and says they were verified")
    func honestDownloadIsKept() async throws {
        let (run, folder, original) = try await dfsGet(from: .honest)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try #require(run.succeeded, "\(run)")
        let written = try [UInt8](Data(contentsOf: URL(fileURLWithPath: folder + "/copy.bin")))
        #expect(sha256Hex(written) == sha256Hex(original))
        #expect(run.standardError.contains("sha256 verified"), "\(run)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder) == ["copy.bin"])
    }

    @Test(
        "dfs get refuses bytes that do not hash to the announced SHA-256 and keeps nothing, not even its temp file",
        arguments: [StandInGateway.Download.flippedByte, .truncated])
    func wrongBytesAreRefused(_ download: StandInGateway.Download) async throws {
        let (run, folder, original) = try await dfsGet(from: download)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        #expect(!run.succeeded, "\(run)")
        #expect(run.standardError.contains("the gateway announced \(sha256Hex(original))"), "\(run)")
        #expect(run.standardError.contains("nothing was kept"), "\(run)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder).isEmpty)
    }

    @Test("dfs get says a download ended short and keeps nothing when the connection drops before the announced length")
    func cutOffDownloadIsRefused() async throws {
        let (run, folder, _) = try await dfsGet(from: .cutOff)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        #expect(!run.succeeded, "\(run)")
        // The dropped connection may also lose some of the half the stand-in sent, so the count received is not fixed.
        #expect(run.standardError.contains("the download ended after "), "\(run)")
        #expect(run.standardError.contains(" of \(300 << 10) bytes"), "\(run)")
        #expect(run.standardError.contains("nothing was kept"), "\(run)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder).isEmpty)
    }

    @Test("dfs-loadtest counts a download whose bytes differ from what it uploaded as a mismatch and exits 2")
    func loadTestCountsMismatches() async throws {
        let (run, report, downloads) = try await loadTest(against: .flippedByte)
        #expect(run.exit == .exited(code: 2), "\(run)")
        let mismatches = try #require(report["mismatches"] as? Int, "\(run)")
        #expect(mismatches > 0 && downloads > 0)
        // Every download the stand-in served was wrong: each must have been counted, none as a success.
        #expect(report["operations"] as? Int == 0, "\(run)")
        let samples = report["error_samples"] as? [String] ?? []
        #expect(samples.contains { $0.contains("hashing to") }, "\(run)")
    }

    @Test("dfs-loadtest reports no mismatch and exits 0 against an honest gateway")
    func loadTestPassesHonestGateway() async throws {
        let (run, report, downloads) = try await loadTest(against: .honest)
        #expect(run.exit == .exited(code: 0), "\(run)")
        #expect(report["mismatches"] as? Int == 0, "\(run)")
        #expect(report["errors"] as? Int == 0, "\(run)")
        #expect(downloads > 0 && (report["operations"] as? Int ?? 0) > 0, "\(run)")
    }

    /// `dfs get KEY -o FOLDER/copy.bin` of a 300 KiB file from a stand-in that serves it as `download` says.
    private func dfsGet(from download: StandInGateway.Download) async throws -> (CommandRun, String, [UInt8]) {
        try #require(FileManager.default.isExecutableFile(atPath: Self.dfsPath), "build the products first: \(Self.dfsPath)")
        let gateway = try await StandInGateway(serving: download)
        defer { gateway.stop() }
        let original = randomBytes(300 << 10)
        let key = gateway.store(original, filename: "original.bin")
        let folder = try makeTemporaryDirectory(prefix: "dfs-get-check")
        let run = try await CommandRun.run(
            Self.dfsPath, ["get", key, "-o", folder + "/copy.bin", "--gateway", gateway.url], timeout: .seconds(60))
        return (run, folder, original)
    }

    /// A 2 s download run of `dfs-loadtest` against a stand-in; returns its JSON report and how many downloads
    /// the stand-in served.
    private func loadTest(against download: StandInGateway.Download) async throws -> (CommandRun, [String: Any], Int) {
        try #require(
            FileManager.default.isExecutableFile(atPath: Self.loadTestPath), "build the products first: \(Self.loadTestPath)")
        let gateway = try await StandInGateway(serving: download)
        defer { gateway.stop() }
        let run = try await CommandRun.run(
            Self.loadTestPath,
            [
                "--gateway", gateway.url, "--workload", "download", "--size", "4KiB", "--duration", "2s", "--concurrency", "2",
                "--json",
            ],
            timeout: .seconds(60))
        let report = try #require(
            try JSONSerialization.jsonObject(with: Data(run.standardOutput.utf8)) as? [String: Any], "\(run)")
        return (run, report, gateway.downloadCount)
    }
}
