import DFSCore

/// `--churn SEED`: a fault schedule drawn from a seed, so a churn run can be repeated exactly. One node is faulty
/// at a time: every 2-5 s the faulty node is restored (started again after a kill, resumed after a pause) and a
/// node drawn at random is killed or paused; at the end of the run the last one is restored, so what was stored can
/// be checked on a whole cluster.
extension FaultSchedule {
    static func churn(
        seed: UInt64, nodes: Int, duration: Duration, every gap: ClosedRange<Duration> = .seconds(2)...(.seconds(5))
    ) -> FaultSchedule {
        var random = SplitMix64(seed: seed)
        var faults: [Fault] = []
        var faulty: Fault? = nil
        var at = random.duration(in: gap)
        while at <= duration {
            if let previous = faulty {
                faults.append(Fault(action: previous.action == .kill ? .start : .resume, node: previous.node, at: at))
                faulty = nil
            }
            // A moment after the restore, so the two never swap places when applied; none that could not last the
            // shortest gap before the run ends.
            let start = at + .milliseconds(100)
            guard start + gap.lowerBound <= duration else { break }
            let next = Fault(
                action: random.next(below: 2) == 0 ? .kill : .pause, node: Int(random.next(below: UInt64(nodes))) + 1, at: start)
            faults.append(next)
            faulty = next
            at = min(at + random.duration(in: gap), duration)
            if at == duration, let previous = faulty {
                faults.append(Fault(action: previous.action == .kill ? .start : .resume, node: previous.node, at: at))
                faulty = nil
                break
            }
        }
        return FaultSchedule(faults: faults)
    }
}

extension SplitMix64 {
    /// A duration drawn evenly from `range`, to the millisecond.
    mutating func duration(in range: ClosedRange<Duration>) -> Duration {
        let low = range.lowerBound.milliseconds
        let high = range.upperBound.milliseconds
        return .milliseconds(low + Int64(next(below: UInt64(high - low + 1))))
    }
}

extension Duration {
    fileprivate var milliseconds: Int64 { components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000 }
}
