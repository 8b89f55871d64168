import DFSLauncher
import Testing

@testable import CLI

@Suite("What the dfs up banner tells a person to type")
struct CommandHintTests {
    /// Executables that exist, each resolving to itself unless `links` says otherwise.
    private func resolver(_ files: Set<String>, links: [String: String] = [:]) -> (String) -> String? {
        { path in files.contains(path) ? links[path] ?? path : nil }
    }

    @Test("a dfs that is not on PATH is named by its full path")
    func notOnPath() {
        let build = "/src/swiftdfs/.build/release/dfs"
        let hint = CommandHint.invocation(ofRunningExecutable: build, searchPath: "/usr/bin:/bin", resolve: resolver([build]))
        #expect(hint == build)
    }

    @Test("the dfs first on PATH is this one (also through a symlink): plain dfs")
    func onPath() {
        let installed = "/usr/local/bin/dfs"
        #expect(
            CommandHint.invocation(
                ofRunningExecutable: installed, searchPath: "/usr/bin:/usr/local/bin", resolve: resolver([installed])) == "dfs")
        let linked = resolver(["/opt/dfs/dfs", "/usr/local/bin/dfs"], links: ["/usr/local/bin/dfs": "/opt/dfs/dfs"])
        #expect(
            CommandHint.invocation(ofRunningExecutable: "/opt/dfs/dfs", searchPath: "/usr/local/bin", resolve: linked) == "dfs")
    }

    @Test("another dfs earlier on PATH (an older install): the full path of this one")
    func otherDfsOnPath() {
        let build = "/src/.build/release/dfs"
        let hint = CommandHint.invocation(
            ofRunningExecutable: build, searchPath: "/usr/local/bin:/src/.build/release",
            resolve: resolver([build, "/usr/local/bin/dfs"]))
        #expect(hint == build)
    }

    @Test("the data folder hint is left out only for ./dfs-data of the current folder")
    func defaultDataDirectory() {
        #expect(CommandHint.isDefaultDataDirectory("/home/me/dfs-data", currentDirectory: "/home/me"))
        #expect(CommandHint.isDefaultDataDirectory("/home/me/./dfs-data", currentDirectory: "/home/me/"))
        #expect(!CommandHint.isDefaultDataDirectory("/tmp/demo", currentDirectory: "/home/me"))
    }
}

@Suite("dfs cluster status as text")
struct ClusterStatusTextTests {
    @Test("one line about dfs up, then a member per row; a last exit only for members that exited")
    func rendering() {
        let reply = ClusterControlReply(
            succeeded: true, message: "",
            members: [
                ClusterMemberStatus(member: .gateway, state: .running, pid: 10, port: 8080),
                ClusterMemberStatus(member: .node(1), state: .paused, pid: 11, port: 8001),
                ClusterMemberStatus(member: .node(2), state: .exited, pid: nil, port: 8002, lastExit: "killed by SIGKILL"),
                ClusterMemberStatus(member: .node(3), state: .stopped, pid: nil, port: 8003, lastExit: "exit status 0"),
            ],
            supervisorPID: 9, restartPolicy: "no"
        )
        let lines = ClusterStatusText(reply).rendered.split(separator: "\n").map(String.init)
        #expect(lines.count == 6)
        #expect(lines[0] == "dfs up (pid 9), restart on failure: no")
        #expect(lines[1].hasPrefix("MEMBER ") && lines[1].contains("LAST EXIT"))
        #expect(lines[3].split(separator: " ").prefix(4) == ["node-1", "paused", "11", "8001"])
        #expect(lines[4].hasSuffix("killed by SIGKILL") && lines[4].contains("exited"))
        #expect(!lines[5].contains("exit status 0"))
    }
}
