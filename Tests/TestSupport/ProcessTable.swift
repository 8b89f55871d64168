import Foundation

/// Looks processes up in `/proc` (Linux): who a process's children are, and whether one still runs.
public enum ProcessTable {
    /// Pids whose parent is `parent` right now.
    public static func children(of parent: Int32) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { status(of: $0)?.parent == parent }.sorted()
    }

    /// True while `pid` exists and is not a zombie. A child re-parented to an init that does not reap stays
    /// a zombie forever, yet has ended: it holds no port and runs no code.
    public static func isRunning(_ pid: Int32) -> Bool {
        guard let state = status(of: pid)?.state else { return false }
        return state != "Z" && state != "X"
    }

    /// The state letter of `/proc/<pid>/stat` (`R`, `S`, `T` for a stopped process, `Z`…), nil if it is gone.
    public static func state(of pid: Int32) -> Character? {
        status(of: pid)?.state
    }

    /// The arguments `pid` was started with (`/proc/<pid>/cmdline`), the executable first; empty if it is gone.
    public static func commandLine(of pid: Int32) -> [String] {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return [] }
        return data.split(separator: 0, omittingEmptySubsequences: false).dropLast().map { String(decoding: $0, as: UTF8.self) }
    }

    /// State letter and parent pid from `/proc/<pid>/stat`; the name may hold spaces and parentheses, so
    /// fields are read after its last `)`.
    private static func status(of pid: Int32) -> (state: Character, parent: Int32)? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let nameEnd = text.lastIndex(of: ")")
        else { return nil }
        let fields = text[text.index(after: nameEnd)...].split(separator: " ")
        guard fields.count >= 2, let state = fields[0].first, let parent = Int32(fields[1]) else { return nil }
        return (state, parent)
    }
}
