import DFSCore
import Synchronization

/// Blocks that reads found damaged, per blob, so the node can tell the gateway why it cut a stream (`HEAD` answers
/// list them). Kept in memory only: after a restart the next read or audit finds the damage again. Bounded, so a
/// disk rotting everywhere cannot grow it without limit.
final class DamagedBlocks: Sendable {
    static let maximumBlobs = 100_000
    private let blocks = Mutex<[FileKey: Set<Int>]>([:])

    func record(_ block: Int, of key: FileKey) {
        blocks.withLock { table in
            if table[key] == nil, table.count >= Self.maximumBlobs { table.removeValue(forKey: table.keys.first!) }
            table[key, default: []].insert(block)
        }
    }

    /// The damaged blocks of `key`, ascending (empty when none are known).
    func blocks(of key: FileKey) -> [Int] { blocks.withLock { ($0[key] ?? []).sorted() } }

    /// The blob was rewritten or deleted: what was known of the old bytes no longer applies.
    func forget(_ key: FileKey) { _ = blocks.withLock { $0.removeValue(forKey: key) } }
}
