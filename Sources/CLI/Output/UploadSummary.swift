import Foundation

/// The lines `dfs put` prints: key, size, digest, and which nodes hold verified copies.
struct UploadSummary {
    let receipt: FileUpload.Receipt

    init(_ receipt: FileUpload.Receipt) {
        self.receipt = receipt
    }

    /// Nodes with a copy the gateway checked: the `replicas` receipt if sent, else primary plus successes.
    var verifiedNodes: [String] {
        let document = receipt.document
        if case .array(let replicas)? = document["replicas"] {
            return replicas.filter { $0["verified"]?.boolValue ?? false }.compactMap { $0["node_id"]?.text }
        }
        let primary = document["node_id"]?.text.map { [$0] } ?? []
        return primary + (document["replication"]?["successful"]?.arrayValue.compactMap(\.text) ?? [])
    }

    var queuedNodes: [String] {
        receipt.document["replication"]?["failed"]?.arrayValue.compactMap(\.text) ?? []
    }

    var rendered: String {
        let document = receipt.document
        var lines = [
            ("file_key", document["file_id"]?.text ?? document["file_key"]?.text ?? "?"),
            ("name", document["original_filename"]?.text ?? "?"),
            ("size", "\(ByteCountText.binary(receipt.size)) (\(receipt.size) bytes)"),
            ("sha256", receipt.digest.hex),
            ("replicas", verifiedNodes.isEmpty ? "none reported" : verifiedNodes.joined(separator: ", ") + " (verified)"),
        ]
        if !queuedNodes.isEmpty {
            lines.append(("queued", queuedNodes.joined(separator: ", ") + " (copied when back)"))
        }
        return lines.map { $0.0.padding(toLength: 9, withPad: " ", startingAt: 0) + $0.1 }.joined(separator: "\n")
    }
}
