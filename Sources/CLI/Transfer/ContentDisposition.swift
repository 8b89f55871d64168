import Foundation

/// The filename a `Content-Disposition` header suggests, made safe to use as a local file name.
enum ContentDisposition {
    /// Prefers RFC 5987 `filename*=UTF-8''…` over `filename="…"`; nil if absent or unusable.
    static func filename(in header: String) -> String? {
        let parameters = header.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
        var plain: String?
        var extended: String?
        for parameter in parameters {
            guard let equals = parameter.firstIndex(of: "=") else { continue }
            let name = parameter[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            let value = parameter[parameter.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            if name == "filename*" {
                // charset'language'percent-encoded
                let pieces = value.split(separator: "'", maxSplits: 2, omittingEmptySubsequences: false)
                if pieces.count == 3 { extended = String(pieces[2]).removingPercentEncoding }
            } else if name == "filename" {
                plain = unquote(value)
            }
        }
        return (extended ?? plain).flatMap(safeLocalName)
    }

    /// Keeps only the last path component and refuses names that would escape or hide in the folder.
    static func safeLocalName(_ suggested: String) -> String? {
        let lastComponent = suggested.split(whereSeparator: { $0 == "/" || $0 == "\\" }).last.map(String.init) ?? ""
        let cleaned = String(lastComponent.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7F })
        guard !cleaned.isEmpty, cleaned != ".", cleaned != "..", !cleaned.hasPrefix(".") else { return nil }
        return cleaned
    }

    private static func unquote(_ value: String) -> String {
        guard value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 else { return value }
        var result = ""
        var isEscaped = false
        for character in value.dropFirst().dropLast() {
            if isEscaped {
                result.append(character)
                isEscaped = false
            } else if character == "\\" {
                isEscaped = true
            } else {
                result.append(character)
            }
        }
        return result
    }
}
