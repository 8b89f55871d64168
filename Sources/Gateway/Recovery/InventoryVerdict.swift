import DFSCore
import DFSMetadata
import Foundation

/// What to do with one blob a node lists, judged against the metadata.
enum InventoryVerdict: Sendable, Equatable {
    /// A live file's copy: keep it.
    case keep
    /// The file was deleted while the node could not hear it: remove, or the file would come back.
    case removeDeleted
    /// No file owns it and it is older than the grace period (an upload that failed midway): remove.
    case removeOrphan
    /// No file owns it yet, but it is young: an upload may be about to record it. Leave it for a later pass.
    case spareYoungOrphan

    /// - Parameters:
    ///   - state: the key's file state, nil when no file (live or deleted) has that key.
    ///   - modifiedAt: the blob's modification time on the node (seconds since 1970).
    static func judge(state: FileState?, modifiedAt: Double, now: Date, orphanGrace: Duration) -> InventoryVerdict {
        switch state {
        case .live: return .keep
        case .deleted: return .removeDeleted
        case nil:
            let grace = Double(orphanGrace.components.seconds) + Double(orphanGrace.components.attoseconds) / 1e18
            return now.timeIntervalSince1970 - modifiedAt >= grace ? .removeOrphan : .spareYoungOrphan
        }
    }
}
