import Foundation
import Testing

@testable import Gateway

@Suite("Content-Disposition of downloads")
struct ContentDispositionTests {
    /// What the header was built with before (Foundation's percent-encoding), as the reference.
    func reference(_ filename: String) -> String {
        let ascii = String(
            filename.unicodeScalars.map { scalar -> Character in
                (scalar.isASCII && scalar.value >= 0x20 && scalar != "\"" && scalar != "\\") ? Character(scalar) : "_"
            })
        let allowed = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$&+-.^_`|~")
        let encoded = filename.addingPercentEncoding(withAllowedCharacters: allowed)!
        return "attachment; filename=\"\(ascii)\"; filename*=UTF-8''\(encoded)"
    }

    @Test("an ASCII fallback and the exact name percent-encoded as RFC 8187 asks")
    func attachment() {
        #expect(
            ContentDispositionHeader.attachment(filename: "ünï côdé \"q\".txt")
                == "attachment; filename=\"_n_ c_d_ _q_.txt\"; filename*=UTF-8''%C3%BCn%C3%AF%20c%C3%B4d%C3%A9%20%22q%22.txt")
        for name in [
            "report.pdf", "a b+c%d&e=f(g)[h]!'@,;.bin", "日本語 file.txt", "back\\slash\ttab", "emoji 😀.png", "", "~`|^#$",
        ] {
            #expect(ContentDispositionHeader.attachment(filename: name) == reference(name), "\(name)")
        }
    }
}
