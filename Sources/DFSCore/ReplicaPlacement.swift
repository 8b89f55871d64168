import Foundation
import Synchronization

/// A storage node as replica placement sees it: who, in which failure domain, and how much it should hold.
public struct PlacementNode: Sendable, Equatable {
    public let id: NodeID
    /// The failure domain (`dfs-node --zone`; a node's own id when it names none).
    public let zone: String
    /// Its share of the data is proportional to this: its capacity in bytes.
    public let weight: Double

    public init(id: NodeID, zone: String, weight: Double) {
        precondition(weight > 0, "a placement weight is positive")
        self.id = id
        self.zone = zone
        self.weight = weight
    }
}

/// Where the copies of a file live (SPEC §10): a replica set chosen for balance and safety, not for speed.
///
/// Every node gets a pseudo-random draw per file, `ln(u) / weight` with `u` uniform in (0, 1] from a hash of the
/// file's key and the node's id (weighted rendezvous hashing, as Ceph's straw2 buckets). The set is the best draws,
/// taken in order, skipping a node whose zone already holds a copy while there are at least as many zones as
/// copies. So:
/// - each node's chance to hold a file grows with its weight (capacity), and the same key always gives the same set,
///   so gateways that never talk to each other place alike and spread concurrent uploads without coordination;
/// - a node that joins takes copies only onto itself (it wins a draw or it does not), and a node that leaves gives
///   up only its own copies: data moved on a change is the minimum, the new or departed node's share;
/// - no two copies share a zone while the zones allow it.
///
/// The map is built once per set of candidates; picking a set costs one hash per candidate.
public struct PlacementMap: Sendable {
    public let nodes: [PlacementNode]
    private let nodeHashes: [UInt64]
    private let zoneIndex: [Int]
    private let zoneCount: Int
    /// All weights equal: `u` alone orders the draws, and no logarithm is needed.
    private let uniform: Bool
    /// The weights the draws use: the nodes' own, or calibrated (`calibrated(_:replicas:)`).
    private let drawWeights: [Double]

    public init(_ nodes: [PlacementNode]) {
        self.init(nodes, drawWeights: nodes.map(\.weight))
    }

    private init(_ nodes: [PlacementNode], drawWeights: [Double]) {
        self.nodes = nodes
        self.drawWeights = drawWeights
        nodeHashes = nodes.map { PlacementMap.hash($0.id.rawValue) }
        var zones: [String: Int] = [:]
        zoneIndex = nodes.map { node in
            if let index = zones[node.zone] { return index }
            zones[node.zone] = zones.count
            return zones.count - 1
        }
        zoneCount = zones.count
        uniform = Set(drawWeights).count <= 1
    }

    /// A map whose copies per node follow the nodes' weights when sets are drawn `replicas` at a time.
    ///
    /// Drawing several nodes per file without putting one back favours light nodes: with six nodes, one twice as
    /// large and three copies per file, plain draws give it 1.57× the copies of each other node, not 2×. So on small
    /// clusters (at most 32 nodes, one of which is in more than 15 % of the sets) the draw weights are corrected: the
    /// copies each node gets over a fixed sample of 16,384 keys are compared with its share, and its draw weight
    /// scaled towards it, twelve times. The sample is the same everywhere, so every gateway computes the same
    /// weights. Large clusters and equal weights keep the plain draw. Results are cached per configuration.
    public static func calibrated(_ nodes: [PlacementNode], replicas: Int) -> PlacementMap {
        PlacementMap(nodes, drawWeights: calibratedWeights(nodes, replicas: replicas))
    }

    /// The draw weights of `calibrated(_:replicas:)`, in the order of `nodes`.
    public static func calibratedWeights(_ nodes: [PlacementNode], replicas: Int) -> [Double] {
        let plain = nodes.map(\.weight)
        let total = nodes.reduce(0) { $0 + $1.weight }
        let copies = min(replicas, nodes.count)
        // Only where one node's share of the sets is large is the bias worth its cost: the correction is fitted on a
        // sample, and it moves a little more data than the minimum when a node joins or leaves.
        guard Set(plain).count > 1, copies > 1, copies < nodes.count, nodes.count <= 32, total > 0,
            let heaviest = nodes.map(\.weight).max(), heaviest * Double(copies) / total > 0.15
        else { return plain }
        let cacheKey = CalibrationKey(nodes: nodes, replicas: copies)
        if let weights = calibrationCache.withLock({ $0[cacheKey] }) { return weights }

        let samples = 16_384
        // Each node's target: its weight's share of all copies, but at most one copy per file (water-filling).
        var target = [Double](repeating: 0, count: nodes.count)
        var capped = Set<Int>()
        var remaining = Double(samples * copies)
        while true {
            let free = nodes.indices.filter { !capped.contains($0) }
            let freeWeight = free.reduce(0) { $0 + nodes[$1].weight }
            var newlyCapped = false
            for index in free {
                target[index] = remaining * nodes[index].weight / freeWeight
                if target[index] > Double(samples) {
                    capped.insert(index)
                    newlyCapped = true
                }
            }
            if !newlyCapped { break }
            remaining = Double(samples * copies) - Double(samples * capped.count)
            for index in capped { target[index] = Double(samples) }
        }
        var weights = nodes.map(\.weight)
        for _ in 0..<12 {
            let map = PlacementMap(nodes, drawWeights: weights)
            var counts = [Double](repeating: 0, count: nodes.count)
            for sample in 0..<samples {
                for index in map.indices(forKeyHash: mix(UInt64(sample) &+ 0x5EED), replicas: copies) { counts[index] += 1 }
            }
            for index in weights.indices where counts[index] > 0 {
                weights[index] *= pow(target[index] / counts[index], 0.8)
            }
        }
        calibrationCache.withLock { cache in
            if cache.count >= 64 { cache.removeAll() }
            cache[cacheKey] = weights
        }
        return weights
    }

    /// The replica set of `key`, best first: at most `replicas` distinct nodes (fewer when there are fewer).
    public func replicaSet(for key: FileKey, replicas: Int) -> [PlacementNode] {
        indices(forKeyHash: Self.hash(key.rawValue), replicas: replicas).map { nodes[$0] }
    }

    /// Indices into `nodes` of the replica set of the key whose `hash(_:)` is `keyHash`, best first.
    public func indices(forKeyHash keyHash: UInt64, replicas: Int) -> [Int] {
        let wanted = min(replicas, nodes.count)
        guard wanted > 0 else { return [] }
        if zoneCount >= wanted {
            // Walking the draws in order and skipping zones already used picks each zone's best node, zones in the
            // order of those bests: one pass finds them.
            var bestNode = [Int](repeating: -1, count: zoneCount)
            var bestDraw = [Double](repeating: -.infinity, count: zoneCount)
            for index in nodes.indices {
                let value = draw(keyHash: keyHash, node: index)
                let zone = zoneIndex[index]
                if value > bestDraw[zone] {
                    bestDraw[zone] = value
                    bestNode[zone] = index
                }
            }
            var picked: [Int] = []
            picked.reserveCapacity(wanted)
            for _ in 0..<wanted {
                var bestZone = 0
                for zone in 1..<zoneCount where bestDraw[zone] > bestDraw[bestZone] { bestZone = zone }
                picked.append(bestNode[bestZone])
                bestDraw[bestZone] = -.infinity
            }
            return picked
        }
        // Fewer zones than copies: one copy in each zone first (each zone's best), then the best of the rest.
        let draws = nodes.indices.map { draw(keyHash: keyHash, node: $0) }
        var picked: [Int] = []
        var zonesUsed = Set<Int>()
        while picked.count < wanted {
            let separateZones = zonesUsed.count < zoneCount
            var best = -1
            for index in nodes.indices where (best < 0 || draws[index] > draws[best]) && !picked.contains(index) {
                if separateZones && zonesUsed.contains(zoneIndex[index]) { continue }
                best = index
            }
            picked.append(best)
            zonesUsed.insert(zoneIndex[best])
        }
        return picked
    }

    /// Whether two of `set`'s nodes share a zone although the map has at least as many zones as `set` has nodes.
    public func violatesZones(_ set: [Int]) -> Bool {
        let zones = Set(set.map { zoneIndex[$0] })
        return zones.count < set.count && zoneCount >= set.count
    }

    private func draw(keyHash: UInt64, node: Int) -> Double {
        let mixed = Self.mix(keyHash ^ nodeHashes[node])
        // 53 random bits as a double in (0, 1].
        let u = Double((mixed >> 11) + 1) * 0x1p-53
        return uniform ? u : log(u) / drawWeights[node]
    }

    /// A 64-bit hash of a key or node id, the same on every machine and in every process (FNV-1a, then mixed).
    public static func hash(_ text: String) -> UInt64 {
        var value: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in text.utf8 {
            value ^= UInt64(byte)
            value &*= 0x0000_0100_0000_01B3
        }
        return mix(value)
    }

    /// SplitMix64's first output for `input`: every input bit affects every output bit.
    @inline(__always)
    static func mix(_ input: UInt64) -> UInt64 {
        var generator = SplitMix64(seed: input)
        return generator.next()
    }
}

private struct CalibrationKey: Hashable {
    var ids: [String]
    var zones: [String]
    var weights: [Double]
    var replicas: Int

    init(nodes: [PlacementNode], replicas: Int) {
        ids = nodes.map(\.id.rawValue)
        zones = nodes.map(\.zone)
        weights = nodes.map(\.weight)
        self.replicas = replicas
    }
}

private let calibrationCache = Mutex<[CalibrationKey: [Double]]>([:])
