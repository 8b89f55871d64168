import Foundation

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

    public init(_ nodes: [PlacementNode]) {
        self.nodes = nodes
        nodeHashes = nodes.map { PlacementMap.hash($0.id.rawValue) }
        var zones: [String: Int] = [:]
        zoneIndex = nodes.map { node in
            if let index = zones[node.zone] { return index }
            zones[node.zone] = zones.count
            return zones.count - 1
        }
        zoneCount = zones.count
        uniform = Set(nodes.map(\.weight)).count <= 1
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
        return uniform ? u : log(u) / nodes[node].weight
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
