/// The most recent latency samples of one kind (e.g. a node's times to first byte), kept in a ring so old
/// behaviour falls out by itself; answers quantiles over what it holds.
///
/// Quantiles are read on every download, samples arrive as often: the sorted view is refreshed every
/// `refreshEvery` samples rather than sorted per question, so it may lag the ring by that many samples.
struct RollingLatencySamples: Sendable, Equatable {
    private var samplesMs: [Double] = []
    private var nextSlot = 0
    private var sortedMs: [Double] = []
    private var recordedSinceSort = 0
    let capacity: Int
    let refreshEvery: Int

    init(capacity: Int = 256, refreshEvery: Int = 8) {
        precondition(capacity > 0, "a ring needs room for one sample")
        self.capacity = capacity
        self.refreshEvery = max(1, refreshEvery)
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
        recordedSinceSort += 1
        // Early on every sample matters; afterwards a slightly stale view is as good and far cheaper.
        if recordedSinceSort >= refreshEvery || samplesMs.count <= refreshEvery * 4 {
            sortedMs = samplesMs.sorted()
            recordedSinceSort = 0
        }
    }

    /// The `quantile` (0...1) of the held samples by the nearest-rank method; nil while empty.
    func quantileMs(_ quantile: Double) -> Double? {
        guard !sortedMs.isEmpty else { return nil }
        let rank = Int((min(max(quantile, 0), 1) * Double(sortedMs.count)).rounded(.up))
        return sortedMs[max(0, min(sortedMs.count - 1, rank - 1))]
    }
}
