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

    /// Counts blob files and their bytes once at start; afterwards puts and deletes keep the tally.
    static func measureBlobs(in layout: BlobLayout) throws -> BlobTally {
        var tally = BlobTally()
        for shard in try shardNames(in: layout) {
            let directory = layout.blobsDirectory + "/" + shard
            for name in try POSIXFile.listDirectory(directory) where BlobLayout.key(fromEntry: name) != nil {
                // A blob deleted meanwhile (nothing else runs yet, but the disk may be shared) just is not counted.
                guard let status = try POSIXFile.status(of: directory + "/" + name) else { continue }
                tally.place(bytes: status.sizeBytes, replacing: nil)
            }
        }
        return tally
    }

    private static func shardNames(in layout: BlobLayout) throws -> [String] {
        try POSIXFile.listDirectory(layout.blobsDirectory).filter(BlobLayout.isShardName).sorted()
    }
}

/// How many blobs the store holds and their bytes, kept under the namespace lock.
struct BlobTally: Sendable, Equatable {
    var count = 0
    var bytes: Int64 = 0

    mutating func place(bytes size: Int64, replacing previous: Int64?) {
        if let previous {
            bytes -= previous
        } else {
            count += 1
        }
        bytes += size
    }

    mutating func remove(bytes size: Int64) {
        count -= 1
        bytes -= size
    }
}

/// A node's room: reported in `/health`, weighed by placement.
struct StoreSpace: Sendable, Equatable {
    var capacityBytes: Int64
    var usedBytes: Int64
    var freeBytes: Int64
}
