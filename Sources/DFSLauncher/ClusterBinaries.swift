import Foundation

/// Where the `dfs-gateway`, `dfs-node` and `dfs` executables are: `DFS_BIN_DIR`, else beside the running one.
///
/// SwiftPM puts every product of a build in one folder, so `dfs up`, `dfs-loadtest` and the test runner
/// (`SwiftDFSPackageTests.xctest`) all find the servers next to themselves.
public enum ClusterBinaries {
    public static let gatewayName = "dfs-gateway"
    public static let nodeName = "dfs-node"
    public static let cliName = "dfs"

    /// The folder to take binaries from, given the environment (so tests can pass their own).
    public static func directory(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let override = environment["DFS_BIN_DIR"], !override.isEmpty {
            return override
        }
        return runningExecutablePath().map { ($0 as NSString).deletingLastPathComponent } ?? "."
    }

    /// Absolute path of the running executable, symlinks resolved.
    public static func runningExecutablePath() -> String? {
        #if os(Linux)
            if let resolved = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
                return resolved
            }
        #endif
        return Bundle.main.executablePath ?? CommandLine.arguments.first
    }
}
