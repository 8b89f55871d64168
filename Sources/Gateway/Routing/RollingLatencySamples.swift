/// The most recent latency samples of one kind (e.g. a node's times to first byte), kept in a ring so old
/// behaviour falls out by itself; answers quantiles over what it holds.
struct RollingLatencySamples: Sendable, Equatable {
    private var samplesMs: [Double] = []
    private var nextSlot = 0
    let capacity: Int

    init(capacity: Int = 256) {
        precondition(capacity > 0, "a ring needs room for one sample")
        self.capacity = capacity
    }

    var count: Int { samplesMs.count }

    mutating func record(_ latency: Duration) {
        let value = max(0, latency.milliseconds)
        if samplesMs.count < capacity {
            samplesMs.append(value)
        } else {
            samplesMs[nextSlot] = value
        }
        nextSlot = (nextSlot + 1) % capacity
    }

    /// The `quantile` (0...1) of the held samples by the nearest-rank method; nil while empty.
    func quantileMs(_ quantile: Double) -> Double? {
        guard !samplesMs.isEmpty else { return nil }
        let sorted = samplesMs.sorted()
        let rank = Int((min(max(quantile, 0), 1) * Double(sorted.count)).rounded(.up))
        return sorted[max(0, min(sorted.count - 1, rank - 1))]
    }
}
