import ArgumentParser
import Foundation

struct List: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ls",
        abstract: "List stored files, newest first, one page at a time.",
        discussion: "dfs ls --search report   lists files whose name or key contains \"report\", case ignored."
    )

    @Option(help: "Only files whose name or key contains this text, case ignored.")
    var search: String?

    @Option(help: "At most this many files (the gateway caps it at 1000).")
    var limit: Int?

    @Option(help: "Start after this cursor (printed at the end of a page that has more after it).")
    var after: String?

    @Flag(help: "Print the gateway's JSON answer instead of a table.")
    var json = false

    @OptionGroup var gateway: GatewayOptions

    func validate() throws {
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
    }

    func run() async throws {
        var query: [String] = []
        if let limit { query.append("limit=\(limit)") }
        if let search { query.append("q=" + GatewayClient.encode(search)) }
        if let after { query.append("after=" + GatewayClient.encode(after)) }
        let path = "/files" + (query.isEmpty ? "" : "?" + query.joined(separator: "&"))
        let reply = try await GatewayClient.with(gateway) { client in try await client.call(.GET, path) }
        if json { return JSONOutput.print(reply) }

        let document = try reply.json()
        var table = TextTable("FILE_KEY", "NAME", "SIZE", "UPLOADED", "REPLICAS")
        let files = document["files"]?.arrayValue ?? []
        for file in files {
            table.append([
                file["file_key"]?.text, file["original_filename"]?.text,
                file["size_bytes"]?.int64Value.map(ByteCountText.binary),
                TimestampText.short(file["uploaded_at"]?.text), file["replicas"]?.text,
            ])
        }
        let next = document["next_after"]?.text
        // A search no index serves reads a bounded span per page: an empty page can still have older files to search.
        print(
            !files.isEmpty ? table.rendered : next == nil ? "no files" : "no match on this page; older files are not searched yet"
        )
        if let next {
            print("more: dfs ls\(search.map { " --search " + shellQuoted($0) } ?? "") --after \(next)")
        }
    }
}

/// `text` as one shell word, for the command lines the client prints.
private func shellQuoted(_ text: String) -> String {
    let plain = text.unicodeScalars.allSatisfy {
        CharacterSet.alphanumerics.contains($0) || "-_.,/:@".unicodeScalars.contains($0)
    }
    return plain && !text.isEmpty ? text : "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
}
