import DFSCore

extension BlobStore {
    /// Up to `limit` blobs with keys greater than `after`, ascending; `nextAfter` is set when more follow.
    func inventory(after: String?, limit: Int) async throws -> InventoryPage {
        precondition(limit > 0, "inventory limit must be positive")
        let layout = self.layout
        return try await threads.runIfActive { try Self.listInventory(in: layout, after: after, limit: limit) }
    }

    /// Walks the shards in order; a shard is its keys' two-character prefix, so shard order is key order
    /// and every shard before the cursor's own can be skipped unread.
    static func listInventory(in layout: BlobLayout, after: String?, limit: Int) throws -> InventoryPage {
        let cursorShard = after.map { String($0.prefix(2)) }
        var entries: [InventoryEntry] = []
        var hasMore = false
        shards: for shard in try shardNames(in: layout) {
            if let cursorShard, shard < cursorShard { continue }
            let directory = layout.blobsDirectory + "/" + shard
            let keys = try POSIXFile.listDirectory(directory)
                .compactMap(BlobLayout.key(fromEntry:))
                .filter { key in after.map { key.rawValue > $0 } ?? true }
                .sorted()
            for key in keys {
                // A blob deleted since the listing is simply left out.
                guard let status = try POSIXFile.status(of: directory + "/" + key.rawValue), status.isRegularFile else {
                    continue
                }
                if entries.count == limit {
                    hasMore = true
                    break shards
                }
                entries.append(InventoryEntry(key: key.rawValue, sizeBytes: status.sizeBytes, modifiedAt: status.modifiedAt))
            }
        }
        return InventoryPage(blobs: entries, nextAfter: hasMore ? entries.last?.key : nil)
    }

    /// Counts blob files once at start; afterwards puts and deletes keep the count.
    static func countBlobs(in layout: BlobLayout) throws -> Int {
        try shardNames(in: layout).reduce(0) { total, shard in
            total
                + (try POSIXFile.listDirectory(layout.blobsDirectory + "/" + shard).lazy.compactMap(BlobLayout.key(fromEntry:))
                    .count)
        }
    }

    private static func shardNames(in layout: BlobLayout) throws -> [String] {
        try POSIXFile.listDirectory(layout.blobsDirectory).filter(BlobLayout.isShardName).sorted()
    }
}
