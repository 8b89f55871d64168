import DFSCore
import DFSMetadata

/// One node as the rebalancer weighs it.
struct NodeLoad: Sendable, Equatable {
    var id: NodeID
    /// Serving now (UP and not ejected): it can be copied to and from, and its extra copies trimmed.
    var isUp: Bool
    var room: NodeRoom
    /// Bytes it holds, as last reported, plus what this rebalancer moved since.
    var usedBytes: Double
    /// Its capacity, the weight of its share.
    var weight: Double

    var state: NodeState { room.state }
}

/// Every node's load and share while a rebalancing pass plans: moves update it, so one pass does not overshoot.
struct LoadLedger: Sendable {
    private(set) var nodes: [NodeID: NodeLoad]
    /// Fraction of its share a node may be above or below before copies move (SPEC §10: 5 %).
    let tolerance: Double
    /// Bytes stored on all nodes, and the capacity of the ACTIVE ones: kept here so a share costs no pass over
    /// every node (a page asks for shares many times per file, on clusters of any size).
    private var totalUsed: Double
    private let activeWeight: Double

    init(_ loads: [NodeLoad], tolerance: Double = 0.05) {
        nodes = Dictionary(uniqueKeysWithValues: loads.map { ($0.id, $0) })
        self.tolerance = tolerance
        totalUsed = loads.reduce(0) { $0 + $1.usedBytes }
        activeWeight = loads.filter { $0.state == .active }.reduce(0) { $0 + $1.weight }
    }

    /// A node's fair share of everything stored: the stored total split over ACTIVE nodes by capacity.
    func share(of node: NodeID) -> Double {
        guard let load = nodes[node], load.state == .active, activeWeight > 0 else { return 0 }
        return totalUsed * load.weight / activeWeight
    }

    /// Used bytes over share; above 1 holds more than its share.
    func ratio(of node: NodeID) -> Double {
        let share = share(of: node)
        return share > 0 ? (nodes[node]?.usedBytes ?? 0) / share : .infinity
    }

    /// Whether some ACTIVE serving node is outside its share by more than the tolerance.
    var isUnbalanced: Bool {
        nodes.values.contains { $0.state == .active && $0.isUp && abs(ratio(of: $0.id) - 1) > tolerance }
    }

    mutating func move(_ bytes: Int64, from source: NodeID?, to target: NodeID?) {
        if let source, nodes[source] != nil {
            nodes[source]?.usedBytes -= Double(bytes)
            totalUsed -= Double(bytes)
        }
        if let target, nodes[target] != nil {
            nodes[target]?.usedBytes += Double(bytes)
            totalUsed += Double(bytes)
        }
    }
}

/// What placement wants done with one file's copies (SPEC §10), decided from its recorded locations and the nodes'
/// states and loads: copies on DRAINING or DRAINED nodes are re-made on ACTIVE ones and then retired; copies above
/// the replication factor are trimmed once every holder serves; while a node is outside its capacity share by more
/// than 5 %, a copy moves from the fullest holder to the emptiest node that may take it. A copy is always made
/// (and verified) before the one it replaces is retired, so no step lowers a file below its verified copies; a
/// balancing move records the new copy and retires the old in one transaction.
struct PlacementReconciler: Sendable {
    enum Step: Sendable, Equatable {
        /// Make and verify a copy on `to`, reading `from` first when it serves.
        case copy(to: NodeID, from: NodeID?)
        /// Stop counting this copy and delete it from its node.
        case retire(NodeID)
        /// Make and verify a copy on `to` from `from`, then count it instead of `from`'s in one step (so the file is
        /// never listed on one node too many) and delete `from`'s.
        case move(from: NodeID, to: NodeID)
    }

    let replicationFactor: Int
    let placer: ReplicaPlacer

    /// The steps for one file, in order; each copy updates `ledger`. A copy that fails ends the file's steps.
    func steps(for entry: FileEntry, ledger: inout LoadLedger) -> [Step] {
        let size = entry.file.sizeBytes
        // Copies on nodes no longer known (removed) do not count; nor do copies not verified.
        let holders = entry.verifiedReplicas.filter { ledger.nodes[$0] != nil }
        let counted = holders.filter { ledger.nodes[$0]?.state == .active }
        let leaving = holders.filter { ledger.nodes[$0]?.state != .active }
        var steps: [Step] = []

        if !leaving.isEmpty {
            // Drain: first bring the copies on ACTIVE nodes back to the factor, then retire the leaving ones.
            let missing = replicationFactor - counted.count
            let targets =
                missing > 0
                ? newHolders(entry.file.key, size: size, count: missing, besides: holders, keeping: counted, ledger) : []
            let source = leaving.first { ledger.nodes[$0]?.isUp == true }
            for target in targets {
                steps.append(.copy(to: target, from: source))
                ledger.move(size, from: nil, to: target)
            }
            guard counted.count + targets.count >= replicationFactor else { return steps }
            for node in leaving {
                steps.append(.retire(node))
                ledger.move(size, from: node, to: nil)
            }
            return steps
        }

        let everyHolderServes = holders.allSatisfy { ledger.nodes[$0]?.isUp == true }
        if counted.count > replicationFactor, everyHolderServes {
            // Trim: keep the copies that spread over the most zones, dropping the fullest first.
            var kept = counted.sorted { ledger.ratio(of: $0) > ledger.ratio(of: $1) }
            while kept.count > replicationFactor {
                let zones = kept.map { zone(of: $0, ledger) }
                let index = kept.indices.first { index in zones.filter { $0 == zones[index] }.count > 1 } ?? 0
                let dropped = kept.remove(at: index)
                steps.append(.retire(dropped))
                ledger.move(size, from: dropped, to: nil)
            }
            return steps
        }

        guard counted.count == replicationFactor, everyHolderServes, ledger.isUnbalanced else { return [] }
        // Balance: a holder above its share, the fullest first, gives this copy to the emptiest node that may take it
        // (zones kept apart), when that brings both closer to their shares.
        for source in counted.sorted(by: { ledger.ratio(of: $0) > ledger.ratio(of: $1) }) where ledger.ratio(of: source) > 1 {
            let keeping = counted.filter { $0 != source }
            guard
                let target = newHolders(
                    entry.file.key, size: size, count: .max, besides: holders, keeping: keeping, ledger, zonesStrict: true
                ).min(by: { ledger.ratio(of: $0) < ledger.ratio(of: $1) }),
                isWorthMoving(size, from: source, to: target, ledger)
            else { continue }
            ledger.move(size, from: source, to: target)
            return [.move(from: source, to: target)]
        }
        return []
    }

    /// Whether moving `size` bytes from `source` to `target` evens them out: one of them is out of its band (half
    /// the band once some node is out of its whole band, so the result is not left on the edge), and afterwards the
    /// source is still no emptier than the target.
    private func isWorthMoving(_ size: Int64, from source: NodeID, to target: NodeID, _ ledger: LoadLedger) -> Bool {
        let sourceShare = ledger.share(of: source)
        let targetShare = ledger.share(of: target)
        guard sourceShare > 0, targetShare > 0 else { return false }
        let outOfBand =
            ledger.ratio(of: source) > 1 + ledger.tolerance / 2 || ledger.ratio(of: target) < 1 - ledger.tolerance / 2
        return outOfBand
            && ((ledger.nodes[source]?.usedBytes ?? 0) - Double(size)) / sourceShare
                >= ((ledger.nodes[target]?.usedBytes ?? 0) + Double(size)) / targetShare
    }

    /// ACTIVE serving nodes that hold no copy, chosen as `ReplicaPlacer.additionalHolders` chooses; `count` at most.
    private func newHolders(
        _ key: FileKey, size: Int64, count: Int, besides holders: [NodeID], keeping: [NodeID], _ ledger: LoadLedger,
        zonesStrict: Bool = false
    ) -> [NodeID] {
        let candidates = ledger.nodes.values.filter { $0.state == .active && $0.isUp && !holders.contains($0.id) }.map(\.id)
        return placer.additionalHolders(
            key, count: count, among: candidates.sorted(), keeping: keeping, length: size,
            rooms: ledger.nodes.mapValues(\.room), zonesStrict: zonesStrict)
    }

    private func zone(of node: NodeID, _ ledger: LoadLedger) -> String {
        ledger.nodes[node]?.room.zone ?? node.rawValue
    }
}
