import Synchronization

/// Memory that all uploads' replay buffers share, so that many concurrent uploads cannot exhaust the gateway's:
/// a reservation that does not fit is refused, and that upload streams without a buffer (it cannot be sent again).
final class ReplayBudget: Sendable {
    private let available: Mutex<Int64>

    init(bytes: Int64) { available = Mutex(max(0, bytes)) }

    /// Takes `bytes` from the budget; false (and nothing taken) when fewer are left.
    func reserve(_ bytes: Int64) -> Bool {
        available.withLock { available in
            guard bytes <= available else { return false }
            available -= bytes
            return true
        }
    }

    func release(_ bytes: Int64) { available.withLock { $0 += bytes } }

    var availableBytes: Int64 { available.withLock { $0 } }
}

/// How much of an upload body the gateway keeps to send it again when its primary stalls.
struct ReplayPolicy: Sendable {
    /// Bodies up to this size are kept whole while they stream; 0 keeps none.
    var bufferLimit: Int64
    var budget: ReplayBudget

    static var disabled: ReplayPolicy { ReplayPolicy(bufferLimit: 0, budget: ReplayBudget(bytes: 0)) }
}
