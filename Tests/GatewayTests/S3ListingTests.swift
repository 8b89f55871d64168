import DFSCore
import DFSMetadata
import Foundation
import S3Protocol
import Testing

@testable import Gateway

/// ListObjects paging and delimiter grouping over an in-memory key list, and the request parsing around it.
@Suite("S3 listing, XML and request parsing")
struct S3ListingTests {
    let keys = ["a/1", "a/2", "a/b/3", "a/b/4", "a/c/5", "b", "c/6", "c/7", "d"]

    /// A catalog stand-in: keys in byte order, from a marker, counting the reads so seeks can be checked.
    final class Catalog: @unchecked Sendable {
        let keys: [String]
        var reads = 0
        init(_ keys: [String]) { self.keys = keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) } }

        func fetch(prefix: String, after: String?, inclusive: Bool, limit: Int) -> [S3ObjectRecord] {
            reads += 1
            return keys.filter { key in
                guard key.utf8.starts(with: prefix.utf8) else { return false }
                guard let after else { return true }
                return inclusive
                    ? !key.utf8.lexicographicallyPrecedes(after.utf8) : after.utf8.lexicographicallyPrecedes(key.utf8)
            }.prefix(limit).map { key in
                S3ObjectRecord(
                    bucket: "b", key: key, sizeBytes: 1, etag: "\"e\"", contentType: "x", metadata: [:], checksums: [:],
                    sha256: SHA256Digest(hex: String(repeating: "0", count: 64))!, lastModified: Date())
            }
        }
    }

    func page(_ listing: S3Listing, _ catalog: Catalog) async throws -> S3Listing.Page {
        try await listing.page { after, inclusive, limit in
            catalog.fetch(prefix: listing.prefix, after: after, inclusive: inclusive, limit: limit)
        }
    }

    @Test("without a delimiter, keys page by max-keys and the last key is where the next page starts")
    func plainPaging() async throws {
        let catalog = Catalog(keys)
        var listing = S3Listing(prefix: "", delimiter: nil, maxKeys: 4, marker: nil)
        let first = try await page(listing, catalog)
        #expect(first.objects.map(\.key) == ["a/1", "a/2", "a/b/3", "a/b/4"])
        #expect(first.isTruncated && first.last == "a/b/4")
        listing.marker = first.last
        let second = try await page(listing, catalog)
        #expect(second.objects.map(\.key) == ["a/c/5", "b", "c/6", "c/7"])
        listing.marker = second.last
        let third = try await page(listing, catalog)
        #expect(third.objects.map(\.key) == ["d"] && !third.isTruncated)
    }

    @Test("a delimiter rolls keys up into common prefixes, each counted once, and skipped in one seek")
    func delimiterGrouping() async throws {
        let catalog = Catalog(keys + (0..<500).map { "c/many/\($0)" })
        let all = try await page(S3Listing(prefix: "", delimiter: "/", maxKeys: 1000, marker: nil), catalog)
        #expect(all.commonPrefixes == ["a/", "c/"] && all.objects.map(\.key) == ["b", "d"] && !all.isTruncated)
        // The 502 keys under c/ cost one seek, not a read per key.
        #expect(catalog.reads <= 4)
        let inside = try await page(S3Listing(prefix: "a/", delimiter: "/", maxKeys: 2, marker: nil), catalog)
        #expect(inside.objects.map(\.key) == ["a/1", "a/2"] && inside.isTruncated && inside.last == "a/2")
        let rest = try await page(S3Listing(prefix: "a/", delimiter: "/", maxKeys: 2, marker: "a/2"), catalog)
        #expect(rest.commonPrefixes == ["a/b/", "a/c/"] && rest.objects.isEmpty && !rest.isTruncated)
    }

    @Test("a marker that is a common prefix (V1 NextMarker, a continuation token) resumes after the whole group")
    func markerOnAGroup() async throws {
        let catalog = Catalog(keys)
        let after = try await page(S3Listing(prefix: "", delimiter: "/", maxKeys: 10, marker: "a/"), catalog)
        #expect(after.objects.map(\.key) == ["b", "d"] && after.commonPrefixes == ["c/"])
        let maxZero = try await page(S3Listing(prefix: "", delimiter: "/", maxKeys: 0, marker: nil), catalog)
        #expect(maxZero.objects.isEmpty && maxZero.commonPrefixes.isEmpty && !maxZero.isTruncated)
    }

    @Test("common prefixes are found by UTF-8 bytes, with multi-character delimiters")
    func unicodeDelimiters() {
        let listing = S3Listing(prefix: "photos/", delimiter: "→", maxKeys: 10, marker: nil)
        #expect(listing.commonPrefix(of: "photos/été→x→y") == "photos/été→")
        #expect(listing.commonPrefix(of: "photos/plain") == nil)
        #expect(listing.commonPrefix(of: "other/é→") == nil)
        #expect(S3Listing(prefix: "", delimiter: "--", maxKeys: 1, marker: nil).commonPrefix(of: "a-b--c") == "a-b--")
    }

    @Test("request bodies: CompleteMultipartUpload with escaped and unquoted ETags, namespaces, a prolog and CDATA")
    func xmlBodies() throws {
        let text = """
            <?xml version="1.0" encoding="UTF-8"?>
            <!-- s3cmd -->
            <CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
              <Part><PartNumber>1</PartNumber><ETag>&#34;abc&#34;</ETag></Part>
              <Part><ETag>def</ETag><PartNumber>2</PartNumber><ChecksumCRC32>AAAAAA==</ChecksumCRC32></Part>
              <Part><PartNumber>3</PartNumber><ETag><![CDATA["g<h"]]></ETag></Part>
            </CompleteMultipartUpload>
            """
        let document = try S3XMLElement.parse(Array(text.utf8))
        let parts = document.children("Part")
        #expect(parts.map { $0.child("PartNumber")?.text } == ["1", "2", "3"])
        #expect(parts.map { $0.child("ETag")?.text } == ["\"abc\"", "def", "\"g<h\""])
        #expect(S3Objects.sameETag("\"ABC\"", "abc"))
        #expect(throws: S3XMLElement.ParseError.self) { try S3XMLElement.parse(Array("<a><b></a>".utf8)) }
        #expect(throws: S3XMLElement.ParseError.self) { try S3XMLElement.parse(Array("<a>&bogus;</a>".utf8)) }
        #expect(S3XMLWriter.escape("a<b&\"c'\u{1}") == "a&lt;b&amp;&quot;c&apos;&#1;")
    }

    @Test("keys are percent-decoded (a plus is a plus), encoding-type=url encodes all but unreserved bytes and /")
    func percentCoding() {
        #expect(S3PercentDecoding.decode("a%20b+c%2B%25") == "a b+c+%")
        #expect(S3PercentDecoding.decode("bad%2") == nil)
        #expect(S3PercentDecoding.decode("%FF") == nil)
        #expect(S3URIEncoding.encode("dir/ü b+%.txt", keepingSlash: true) == "dir/%C3%BC%20b%2B%25.txt")
        #expect(S3Request.bucket(fromHost: "photos.s3.local:9000", domain: "s3.local") == "photos")
        #expect(S3Request.bucket(fromHost: "s3.local:9000", domain: "s3.local") == nil)
        #expect(S3Objects.isValidBucketName("my-bucket.2026") && !S3Objects.isValidBucketName("My_Bucket"))
        #expect(!S3Objects.isValidBucketName("ab") && !S3Objects.isValidBucketName("a..b") && !S3Objects.isValidBucketName("-ab"))
    }

    @Test("a prefix's upper bound raises its last scalar, stepping over the surrogate gap")
    func prefixBounds() {
        #expect(S3KeyOrder.upperBound(ofPrefix: "a/") == "a0")
        #expect(S3KeyOrder.upperBound(ofPrefix: "") == nil)
        #expect(S3KeyOrder.upperBound(ofPrefix: "x\u{D7FF}") == "x\u{E000}")
        #expect(S3KeyOrder.upperBound(ofPrefix: "x\u{10FFFF}") == "y")
        #expect(S3KeyOrder.upperBound(ofPrefix: "\u{10FFFF}") == nil)
    }
}
