import Foundation

/// How the banner of `dfs up` spells commands so that they work when pasted into a shell.
enum CommandHint {
    /// `dfs` when the first `dfs` on `PATH` is this very executable, else the executable's full path (a fresh
    /// build is not on `PATH`; an older `dfs` there may be another version).
    static func invocation(
        ofRunningExecutable executable: String?,
        searchPath: String? = ProcessInfo.processInfo.environment["PATH"],
        resolve: (String) -> String? = resolvedPath
    ) -> String {
        guard let executable else { return "dfs" }
        let name = (executable as NSString).lastPathComponent
        for folder in (searchPath ?? "").split(separator: ":") where !folder.isEmpty {
            let candidate = (String(folder) as NSString).appendingPathComponent(name)
            guard let found = resolve(candidate) else { continue }
            return found == resolve(executable) ? name : executable
        }
        return executable
    }

    /// Whether `dataDirectory` is what `dfs cluster` finds without `--data` in the current folder.
    static func isDefaultDataDirectory(
        _ dataDirectory: String, currentDirectory: String = FileManager.default.currentDirectoryPath
    ) -> Bool {
        let standard = ((currentDirectory as NSString).appendingPathComponent("dfs-data") as NSString).standardizingPath
        return (dataDirectory as NSString).standardizingPath == standard
    }

    /// The path with symbolic links resolved, if an executable file is there.
    static func resolvedPath(_ path: String) -> String? {
        guard FileManager.default.isExecutableFile(atPath: path) else { return nil }
        return (path as NSString).resolvingSymlinksInPath
    }
}
