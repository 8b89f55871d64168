import DFSCore
import DFSMetadata

/// The routing events of downloads, in one place, for whoever counts them (metrics are wired in `buildGateway`).
/// Each closure is called once per event, from the download's own task; the defaults do nothing.
struct DownloadEvents: Sendable {
    /// Why a download moved from one replica to another.
    enum FailoverReason: String, Sendable, CaseIterable {
        /// Failed, or sent no first byte within the first-byte timeout, before anything reached the client.
        case beforeFirstByte = "before_first_byte"
        /// The stream broke mid-transfer (the node died or the connection dropped).
        case broken
        /// The node ended its answer early, before a block it found damaged.
        case damaged
        /// No byte for `--stall-timeout` mid-transfer.
        case stalled
        /// Far below the node's recent throughput for a sustained window.
        case slow
        /// After a resume, its verified block differed from the bytes of that block already sent.
        case disagreed
    }

    /// A hedge request was sent to `node` (one per hedged download; counts towards the budget).
    var hedgeSent: @Sendable (_ node: NodeID) -> Void = { _ in }
    /// The hedge's first byte beat the original request's.
    var hedgeWon: @Sendable (_ node: NodeID) -> Void = { _ in }
    /// The download left `node` for another replica.
    var failedOver: @Sendable (_ node: NodeID, _ reason: FailoverReason) -> Void = { _, _ in }
    /// No replica could continue: the response was aborted.
    var aborted: @Sendable () -> Void = {}
    /// A source's stream broke mid-transfer: the node died, or it found a damaged block and cut the stream before it.
    var sourceBroke: @Sendable (_ key: FileKey, _ node: NodeID) -> Void = { _, _ in }
    /// A node refused to serve its copy because it is damaged (or missing): MISSING or CORRUPT, and why.
    var copyDamaged: @Sendable (_ key: FileKey, _ node: NodeID, _ status: LocationStatus, _ reason: String) -> Void = {
        _, _, _, _ in
    }
}
