import DFSMetadata

/// One page of ListObjects: the delimiter's grouping and the paging of V1 and V2 over the catalog's key ranges.
/// Pure apart from `fetch`, so the rules are tested without a database or sockets.
///
/// Every catalog read is a range on the primary key, and a common prefix is skipped in one seek (to the least key
/// past every key it covers), so a page costs the same whatever the bucket holds.
struct S3Listing: Sendable {
    var prefix: String
    var delimiter: String?
    var maxKeys: Int
    /// Start after this key (V1 `marker`, V2 `start-after` or the decoded continuation token).
    var marker: String?

    struct Page: Equatable {
        var objects: [S3ObjectRecord] = []
        var commonPrefixes: [String] = []
        var isTruncated = false
        /// The last key or common prefix on the page: where the next page starts.
        var last: String?
    }

    typealias Fetch = (_ after: String?, _ inclusive: Bool, _ limit: Int) async throws -> [S3ObjectRecord]

    func page(_ fetch: Fetch) async throws -> Page {
        var page = Page()
        guard maxKeys > 0 else { return page }
        var position = marker
        var inclusive = false
        // A marker that is itself a common prefix (V1 NextMarker, or a continuation token) skips its whole group.
        if let marker, let group = commonPrefix(of: marker), group == marker,
            let past = S3KeyOrder.upperBound(ofPrefix: group)
        {
            position = past
            inclusive = true
        }
        // One more than the page holds, so a full page knows whether it is the last without another read. After a
        // common prefix the next read is small: with many groups in a row, each read past one would otherwise load a
        // whole page of rows to use one; it grows again while reads return plain keys.
        let fullBatch = maxKeys + 1
        var batch = fullBatch
        while true {
            let objects = try await fetch(position, inclusive, batch)
            var grouped = false
            defer { batch = grouped ? min(2, fullBatch) : min(batch * 4, fullBatch) }
            for object in objects {
                if let group = commonPrefix(of: object.key) {
                    if group == page.commonPrefixes.last { continue }
                    if page.objects.count + page.commonPrefixes.count == maxKeys {
                        page.isTruncated = true
                        return page
                    }
                    page.commonPrefixes.append(group)
                    page.last = group
                    grouped = true
                    // Everything else in the group sorts before its upper bound: seek past it at once.
                    if let past = S3KeyOrder.upperBound(ofPrefix: group) {
                        position = past
                        inclusive = true
                    } else {
                        position = object.key
                        inclusive = false
                    }
                    break
                }
                if page.objects.count + page.commonPrefixes.count == maxKeys {
                    page.isTruncated = true
                    return page
                }
                page.objects.append(object)
                page.last = object.key
                position = object.key
                inclusive = false
            }
            let consumedAll = objects.last.map { position == $0.key && !inclusive } ?? true
            if objects.count < batch && consumedAll { return page }
            if objects.isEmpty { return page }
        }
    }

    /// The common prefix `key` rolls up into: the prefix, then up to and including the first delimiter after it.
    func commonPrefix(of key: String) -> String? {
        guard let delimiter, !delimiter.isEmpty, key.utf8.starts(with: prefix.utf8) else { return nil }
        let rest = key.utf8.dropFirst(prefix.utf8.count)
        let needle = Array(delimiter.utf8)
        var index = rest.startIndex
        while index != rest.endIndex {
            if rest[index...].starts(with: needle) {
                let end = rest.index(index, offsetBy: needle.count)
                return String(decoding: key.utf8[key.utf8.startIndex..<end], as: UTF8.self)
            }
            index = rest.index(after: index)
        }
        return nil
    }
}
