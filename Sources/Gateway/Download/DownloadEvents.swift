import DFSCore

/// The routing events of downloads, in one place, for whoever counts them (metrics are wired in `buildGateway`).
/// Each closure is called once per event, from the download's own task; the defaults do nothing.
struct DownloadEvents: Sendable {
    /// Why a download moved from one replica to another.
    enum FailoverReason: String, Sendable, CaseIterable {
        /// Failed, or sent no first byte within the first-byte timeout, before anything reached the client.
        case beforeFirstByte = "before_first_byte"
        /// The stream broke or ended early mid-transfer.
        case broken
        /// No byte for `--stall-timeout` mid-transfer.
        case stalled
        /// Far below the node's recent throughput for a sustained window.
        case slow
    }

    /// A hedge request was sent to `node` (one per hedged download; counts towards the budget).
    var hedgeSent: @Sendable (_ node: NodeID) -> Void = { _ in }
    /// The hedge's first byte beat the original request's.
    var hedgeWon: @Sendable (_ node: NodeID) -> Void = { _ in }
    /// The download left `node` for another replica.
    var failedOver: @Sendable (_ node: NodeID, _ reason: FailoverReason) -> Void = { _, _ in }
    /// No replica could continue: the response was aborted.
    var aborted: @Sendable () -> Void = {}
}
