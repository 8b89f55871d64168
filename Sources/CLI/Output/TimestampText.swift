import Foundation

/// Gateway timestamps (ISO 8601) shortened for a table: `2024-05-01 12:00:03`, no fraction or zone.
enum TimestampText {
    static func short(_ raw: String?) -> String? {
        guard var text = raw, !text.isEmpty else { return nil }
        text = text.replacingOccurrences(of: "T", with: " ")
        if let dot = text.firstIndex(of: ".") { text = String(text[..<dot]) }
        if text.hasSuffix("Z") { text.removeLast() }
        if text.count > 19, let plus = text.lastIndex(where: { $0 == "+" }) { text = String(text[..<plus]) }
        return text
    }
}
