import DFSCore
import DFSMetadata

/// What the gateway knows of a node's room, from its last health answer and its last refusal.
struct NodeRoom: Sendable, Equatable {
    var capacityBytes: Int64?
    var usedBytes: Int64?
    var freeBytes: Int64?
    var zone: String?
    /// Bytes of the node's own blobs (its used bytes may count others sharing its file system).
    var storedBytes: Int64?
    /// It answered "no space" and has not reported more free bytes since.
    var refusedSpace = false
    /// Only an ACTIVE node takes new copies (SPEC §10).
    var state = NodeState.active

    init(
        capacityBytes: Int64? = nil, usedBytes: Int64? = nil, freeBytes: Int64? = nil, zone: String? = nil,
        refusedSpace: Bool = false, state: NodeState = .active
    ) {
        self.state = state
        self.capacityBytes = capacityBytes
        self.usedBytes = usedBytes
        self.freeBytes = freeBytes
        self.zone = zone
        self.refusedSpace = refusedSpace
    }

    init(_ health: NodeHealth?, refusedSpace: Bool, state: NodeState) {
        self.init(
            capacityBytes: health?.capacityBytes, usedBytes: health?.usedBytes, freeBytes: health?.freeBytes,
            zone: health?.zone, refusedSpace: refusedSpace, state: state)
        storedBytes = health?.storedBytes
    }

    /// Why the node takes no new copy of `length` bytes, nil when it may.
    func refusal(length: Int64?, fullThreshold: Double) -> String? {
        if state != .active { return "it is \(state.rawValue) and takes no new copies" }
        if refusedSpace { return "it answered that it is out of space, and has not reported more room since" }
        if let capacityBytes, let usedBytes, capacityBytes > 0, Double(usedBytes) >= fullThreshold * Double(capacityBytes) {
            let percent = Int((Double(usedBytes) / Double(capacityBytes) * 100).rounded())
            return "it is \(percent) % full (new copies stop at \(Int((fullThreshold * 100).rounded())) %)"
        }
        if let length, let freeBytes, freeBytes < length {
            return "it has \(freeBytes) free bytes, the file has \(length)"
        }
        return nil
    }
}

/// A new file's replica set and its primary (SPEC §10): the set is chosen for balance and safety by
/// `PlacementMap` (capacity-weighted, one copy per zone while zones allow, the same for the same key on every
/// gateway), then the primary is the member routing ranks best. The one placement rule for uploads, repairs,
/// re-replication and rebalancing.
struct ReplicaPlacer: Sendable {
    let replicas: Int
    /// New copies stop on a node whose used share of its capacity reaches this (`--full-threshold`).
    let fullThreshold: Double

    enum Outcome: Equatable {
        /// `others` are the rest of the set, in placement order; those routing cannot reach now are queued, and so
        /// are `waitingForRoom`: full nodes named only because too few nodes have room, whose copies wait in the
        /// queue until they do.
        case placed(primary: NodeScore, others: [NodeScore], waitingForRoom: Set<NodeID>)
        /// Nodes have room, but none of the set can lead this attempt (all tried, failed or unreachable).
        case noPrimary
        /// No node can hold the file: why, node by node.
        case noRoom(reasons: [String])
    }

    /// - Parameters:
    ///   - ranked: every node, best route first (`LatencyScoreboard.ranked()`).
    ///   - avoiding: nodes that failed this upload already: in the set only when no other node can take their place.
    ///   - notAsPrimary: nodes already tried as this upload's primary.
    ///   - length: the file's announced length, when known.
    func place(
        _ key: FileKey, ranked: [NodeScore], rooms: [NodeID: NodeRoom], avoiding: Set<NodeID>,
        notAsPrimary: Set<NodeID>, length: Int64?
    ) -> Outcome {
        var reasons: [String] = []
        let eligible = ranked.filter { node in
            guard let refusal = (rooms[node.id] ?? NodeRoom()).refusal(length: length, fullThreshold: fullThreshold) else {
                return true
            }
            reasons.append("\(node.id): \(refusal)")
            return false
        }
        guard !eligible.isEmpty else { return .noRoom(reasons: reasons) }
        // First the nodes that can take a copy now; when they are too few, the others in placement order, whose
        // copies are then queued (a node down now, or one that failed this upload).
        let ready = eligible.filter { $0.isSelectable && !avoiding.contains($0.id) }
        var set = choose(key, among: ready, count: replicas, rooms: rooms)
        if set.count < replicas {
            let chosen = Set(set.map(\.id))
            set += choose(key, among: eligible.filter { !chosen.contains($0.id) }, count: replicas - set.count, rooms: rooms)
        }
        let members = Set(set.map(\.id))
        guard
            let primary = ranked.first(where: {
                members.contains($0.id) && $0.isSelectable && !avoiding.contains($0.id) && !notAsPrimary.contains($0.id)
            })
        else { return .noPrimary }
        // Too few nodes with room for every copy: the rest of the copies are owed by full nodes, and wait for room.
        var waiting: [NodeScore] = []
        if set.count < replicas {
            let full = ranked.filter { node in
                !members.contains(node.id) && !eligible.contains { $0.id == node.id }
                    && rooms[node.id]?.state ?? .active == .active
            }
            waiting = choose(key, among: full, count: replicas - set.count, rooms: rooms)
        }
        return .placed(
            primary: primary, others: set.filter { $0.id != primary.id } + waiting, waitingForRoom: Set(waiting.map(\.id)))
    }

    /// The replica set of `key` among `nodes`, `count` at most, placement order.
    func choose(_ key: FileKey, among nodes: [NodeScore], count: Int, rooms: [NodeID: NodeRoom]) -> [NodeScore] {
        let byID = Dictionary(uniqueKeysWithValues: nodes.map { ($0.id, $0) })
        return choose(key, among: nodes.map(\.id), count: count, rooms: rooms).compactMap { byID[$0] }
    }

    /// The replica set of `key` among the nodes `ids`, `count` at most, placement order.
    func choose(_ key: FileKey, among ids: [NodeID], count: Int, rooms: [NodeID: NodeRoom]) -> [NodeID] {
        guard !ids.isEmpty, count > 0 else { return [] }
        // Draw weights are calibrated over every node that may take new copies, not over this call's candidates, so
        // uploads, repairs and moves draw alike and the calibration is computed once per cluster shape.
        let wanted = Set(ids)
        let everyone = Self.placementNodes(
            wanted.union(rooms.filter { $0.value.state == .active }.map(\.key)).sorted(), rooms: rooms)
        let candidates = zip(everyone, PlacementMap.calibratedWeights(everyone, replicas: replicas))
            .filter { node, _ in wanted.contains(node.id) }
            .map { node, weight in PlacementNode(id: node.id, zone: node.zone, weight: weight) }
        return PlacementMap(candidates).replicaSet(for: key, replicas: count).map(\.id)
    }

    /// Where `count` more copies of `key` go, beside the copies on `keeping`: among `candidates` with room for
    /// `length`, first those in zones none of `keeping` is in, then (when they are too few) the others, each in
    /// placement order. With `zonesStrict` (a move, which is never urgent) only the first kind, while the ACTIVE
    /// nodes span as many zones as copies.
    func additionalHolders(
        _ key: FileKey, count: Int, among candidates: [NodeID], keeping: [NodeID], length: Int64?,
        rooms: [NodeID: NodeRoom], zonesStrict: Bool = false
    ) -> [NodeID] {
        func zone(_ node: NodeID) -> String { rooms[node]?.zone ?? node.rawValue }
        let withRoom = candidates.filter {
            (rooms[$0] ?? NodeRoom()).refusal(length: length, fullThreshold: fullThreshold) == nil
        }
        let usedZones = Set(keeping.map(zone))
        let otherZones = withRoom.filter { !usedZones.contains(zone($0)) }
        let apart = choose(key, among: otherZones, count: count, rooms: rooms)
        let activeZones = Set(rooms.filter { $0.value.state == .active }.map { zone($0.key) })
        guard apart.count < count, !(zonesStrict && activeZones.count >= replicas) else { return apart }
        let rest = withRoom.filter { !apart.contains($0) }
        return apart + choose(key, among: rest, count: count - apart.count, rooms: rooms)
    }

    /// Weights are capacities; a node that has not said its capacity weighs the mean of those that have (1 when
    /// none has), so one unknown node neither fills first nor starves. A node without a zone is a zone of its own.
    static func placementNodes(_ ids: [NodeID], rooms: [NodeID: NodeRoom]) -> [PlacementNode] {
        let known = ids.compactMap { rooms[$0]?.capacityBytes }.filter { $0 > 0 }
        let fallback = known.isEmpty ? 1 : Double(known.reduce(0, +)) / Double(known.count)
        return ids.map { id in
            let capacity = rooms[id]?.capacityBytes.flatMap { $0 > 0 ? Double($0) : nil } ?? fallback
            return PlacementNode(id: id, zone: rooms[id]?.zone ?? id.rawValue, weight: capacity)
        }
    }
}
