import Synchronization

/// Succeeded and failed operations of each kind, so a run under faults can say what share of uploads, downloads
/// and deletes went through (the overall error count mixes them).
final class OperationTally: Sendable {
    enum Kind: String, CaseIterable, Codable, Sendable {
        case upload, download, delete
    }

    struct Counts: Codable, Sendable, Equatable {
        var succeeded = 0
        var failed = 0
        /// Downloads answered `404` because the run itself deleted the file (before or while it was read): the
        /// answer a concurrent delete must give, counted apart from both.
        var goneByDelete = 0

        var attempted: Int { succeeded + failed }
        /// Succeeded out of those that could succeed, in percent; nil when none was tried.
        var successPercent: Double? { attempted == 0 ? nil : Double(succeeded) / Double(attempted) * 100 }

        enum CodingKeys: String, CodingKey {
            case succeeded, failed
            case goneByDelete = "gone_by_delete"
        }
    }

    private let counts = Mutex<[Kind: Counts]>([:])

    func succeeded(_ kind: Kind) { counts.withLock { $0[kind, default: Counts()].succeeded += 1 } }
    func failed(_ kind: Kind) { counts.withLock { $0[kind, default: Counts()].failed += 1 } }
    func goneByDelete() { counts.withLock { $0[.download, default: Counts()].goneByDelete += 1 } }

    /// Only the kinds the run tried.
    var snapshot: [String: Counts] {
        counts.withLock { counts in Dictionary(uniqueKeysWithValues: counts.map { ($0.key.rawValue, $0.value) }) }
    }
}
