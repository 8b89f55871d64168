import DFSMetadata
import Testing

@Suite("The name search of GET /files?q=")
struct FileNameSearchTests {
    @Test("blank text means no filter; the text is trimmed and folded")
    func blankAndFolded() throws {
        #expect(try FileNameSearch("") == nil)
        #expect(try FileNameSearch("   ") == nil)
        #expect(try FileNameSearch("  Report ÄÖ ")?.folded == "report äö")
    }

    @Test("over-long text and control characters are refused with a reason")
    func refused() throws {
        #expect(try FileNameSearch(String(repeating: "a", count: FileNameSearch.maximumLength)) != nil)
        #expect(throws: FileNameSearchError.tooLong) {
            try FileNameSearch(String(repeating: "a", count: FileNameSearch.maximumLength + 1))
        }
        #expect(throws: FileNameSearchError.controlCharacter) { try FileNameSearch("a\u{0}b") }
        #expect(throws: FileNameSearchError.controlCharacter) { try FileNameSearch("line\nbreak") }
    }

    @Test("the longest ASCII and case-stable stretches of the text, which SQLite prefilters and looks up with")
    func asciiRun() throws {
        #expect(try FileNameSearch("Report")?.longestASCIIRun == "report")
        #expect(try FileNameSearch("Über-99")?.longestASCIIRun == "ber-99")
        #expect(try FileNameSearch("a日本語bc")?.longestASCIIRun == "bc")
        #expect(try FileNameSearch("日本語")?.longestASCIIRun == nil)
        // Characters with a case (ü, Ä) end a case-stable stretch; ASCII, CJK and digits do not.
        #expect(try FileNameSearch("Über-99")?.longestCaseStableRun == "ber-99")
        #expect(try FileNameSearch("写真 Report ä")?.longestCaseStableRun == "写真 report ")
        #expect(try FileNameSearch("ÄÖÜ")?.longestCaseStableRun == nil)
    }

    @Test("matches ignores case beyond ASCII")
    func matches() throws {
        let search = try #require(try FileNameSearch("straße"))
        #expect(search.matches("Meine STRASSE.txt") == false)
        #expect(search.matches("Meine Straße.txt"))
        #expect(try #require(try FileNameSearch("ÉTÉ")).matches("photos été 2024"))
    }
}
