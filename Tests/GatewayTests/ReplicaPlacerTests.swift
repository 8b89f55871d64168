import DFSCore
import Testing

@testable import Gateway

@Suite("Replica placer")
struct ReplicaPlacerTests {
    let placer = ReplicaPlacer(replicas: 3, fullThreshold: 0.95)

    func node(_ number: Int, latencyMs: Double, isUp: Bool = true) throws -> NodeScore {
        NodeScore(
            endpoint: NodeEndpoint(id: try NodeID(validating: "node-\(number)"), baseURL: "http://fake-\(number)"),
            role: .replica, isUp: isUp, ewmaLatencyMs: latencyMs, inFlight: 0, consecutiveFailures: 0)
    }

    /// Six nodes, node-1 fastest, zones a, b, c twice each.
    func cluster() throws -> (ranked: [NodeScore], rooms: [NodeID: NodeRoom]) {
        let ranked = try (1...6).map { try node($0, latencyMs: Double($0)) }
        var rooms: [NodeID: NodeRoom] = [:]
        for (index, score) in ranked.enumerated() {
            rooms[score.id] = NodeRoom(
                capacityBytes: 1 << 40, usedBytes: 1 << 30, freeBytes: 1 << 39, zone: ["a", "b", "c"][index % 3])
        }
        return (ranked, rooms)
    }

    func place(
        _ ranked: [NodeScore], _ rooms: [NodeID: NodeRoom], length: Int64? = 100_000
    ) -> ReplicaPlacer.Outcome {
        placer.place(FileKey.generate(), ranked: ranked, rooms: rooms, avoiding: [], notAsPrimary: [], length: length)
    }

    @Test("600 uploads over 6 nodes in 3 zones: balanced copies, three zones each, the primary the fastest member")
    func balancedAcrossZones() throws {
        let (ranked, rooms) = try cluster()
        var copies: [NodeID: Int] = [:]
        for _ in 0..<600 {
            guard case .placed(let primary, let others, let waiting) = place(ranked, rooms) else {
                Issue.record("not placed")
                return
            }
            let set = [primary] + others
            #expect(waiting.isEmpty && Set(set.map(\.id)).count == 3)
            #expect(Set(set.map { rooms[$0.id]!.zone! }).count == 3)
            // Latency picks the primary inside the set, never the set.
            #expect(primary.id == ranked.first { score in set.contains { $0.id == score.id } }!.id)
            for node in set { copies[node.id, default: 0] += 1 }
        }
        let mean = Double(copies.values.reduce(0, +)) / 6
        #expect(Double(copies.values.max()!) <= 1.15 * mean, "\(copies)")
    }

    @Test("a node of twice the capacity gets about twice the copies of its zone-mate")
    func capacityShare() throws {
        var (ranked, rooms) = try cluster()
        rooms[ranked[0].id]!.capacityBytes = 2 << 40
        var copies: [NodeID: Int] = [:]
        for _ in 0..<3_000 {
            guard case .placed(let primary, let others, _) = place(ranked, rooms) else { return }
            for node in [primary] + others { copies[node.id, default: 0] += 1 }
        }
        // node-1 and node-4 share zone a.
        let ratio = Double(copies[ranked[0].id]!) / Double(copies[ranked[3].id]!)
        #expect(ratio > 1.7 && ratio < 2.3, "\(ratio)")
    }

    @Test("a full node, one without room for the file, and one that refused for lack of space get no new copies")
    func roomRules() throws {
        var (ranked, rooms) = try cluster()
        rooms[ranked[0].id]!.usedBytes = (1 << 40) / 100 * 96  // 96 % of its capacity
        rooms[ranked[1].id]!.freeBytes = 50_000  // less than the file
        rooms[ranked[2].id]!.refusedSpace = true
        for _ in 0..<200 {
            guard case .placed(let primary, let others, let waiting) = place(ranked, rooms) else {
                Issue.record("not placed")
                return
            }
            let chosen = Set(([primary] + others).map(\.id))
            #expect(chosen.isDisjoint(with: ranked.prefix(3).map(\.id)) && waiting.isEmpty)
        }
        // Only one node with room: it takes the file, and the copies it cannot place wait for full nodes.
        for index in 3...4 { rooms[ranked[index].id]!.usedBytes = 1 << 40 }
        guard case .placed(let primary, let others, let waiting) = place(ranked, rooms) else {
            Issue.record("not placed")
            return
        }
        #expect(primary.id == ranked[5].id && others.count == 2 && Set(others.map(\.id)) == waiting)
        // No node with room: refused, every node saying why.
        rooms[ranked[5].id]!.usedBytes = 1 << 40
        guard case .noRoom(let reasons) = place(ranked, rooms) else {
            Issue.record("placed on full nodes")
            return
        }
        #expect(reasons.count == 6 && reasons.contains { $0.contains("96 % full") })
    }

    @Test("nodes that failed this upload are in the set only when no other can take their place")
    func avoidingFailedNodes() throws {
        let (ranked, rooms) = try cluster()
        let failed: Set<NodeID> = [ranked[0].id, ranked[1].id]
        for _ in 0..<100 {
            guard
                case .placed(let primary, let others, _) = placer.place(
                    FileKey.generate(), ranked: ranked, rooms: rooms, avoiding: failed, notAsPrimary: [], length: nil)
            else { return }
            #expect(Set(([primary] + others).map(\.id)).isDisjoint(with: failed))
        }
        let down = try [node(1, latencyMs: 1), node(2, latencyMs: 2, isUp: false), node(3, latencyMs: 3, isUp: false)]
        guard
            case .placed(let primary, let others, _) = placer.place(
                FileKey.generate(), ranked: down, rooms: [:], avoiding: [], notAsPrimary: [], length: nil)
        else { return }
        #expect(primary.id == down[0].id && others.count == 2, "down nodes are named, to be queued")
        #expect(
            placer.place(FileKey.generate(), ranked: down, rooms: [:], avoiding: [], notAsPrimary: [down[0].id], length: nil)
                == .noPrimary)
    }
}
