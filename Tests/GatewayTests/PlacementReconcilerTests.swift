import DFSCore
import DFSMetadata
import Foundation
import Testing

@testable import Gateway

@Suite("Placement reconciler: drain, trim, balance")
struct PlacementReconcilerTests {
    let reconciler = PlacementReconciler(
        replicationFactor: 3, placer: ReplicaPlacer(replicas: 3, fullThreshold: 0.95))

    func id(_ number: Int) -> NodeID { try! NodeID(validating: "node-\(number)") }

    /// `count` ACTIVE serving nodes in zones a, b, c in turn (or each its own), each of capacity 1 TiB holding
    /// `used[i]` bytes.
    func ledger(
        _ count: Int, used: [Double]? = nil, states: [Int: NodeState] = [:], down: Set<Int> = [], zonePerNode: Bool = false
    ) -> LoadLedger {
        LoadLedger(
            (1...count).map { number in
                let state = states[number] ?? .active
                return NodeLoad(
                    id: id(number), isUp: !down.contains(number),
                    room: NodeRoom(
                        capacityBytes: 1 << 40, usedBytes: 0, freeBytes: 1 << 39,
                        zone: zonePerNode ? "z\(number)" : ["a", "b", "c"][(number - 1) % 3],
                        state: state),
                    usedBytes: used?[number - 1] ?? 1_000_000, weight: Double(1 << 40))
            })
    }

    func entry(on holders: [Int], size: Int64 = 1000) -> FileEntry {
        FileEntry(
            file: FileRecord(
                key: FileKey.generate(), originalFilename: "f", sizeBytes: size,
                checksum: SHA256Digest(hex: String(repeating: "ab", count: 32))!, uploadedAt: Date()),
            locations: holders.map { FileLocation(nodeID: id($0), status: .active, lastVerifiedAt: Date()) }, sequence: 1)
    }

    @Test("a copy on a draining node is re-made on an ACTIVE node in its zone's stead, then retired")
    func drainCopiesThenRetires() {
        var loads = ledger(6, states: [1: .draining])
        let steps = reconciler.steps(for: entry(on: [1, 2, 3]), ledger: &loads)
        guard steps.count == 2, case .copy(let target, let source) = steps[0] else {
            Issue.record("\(steps)")
            return
        }
        #expect(source == id(1))
        // node-1 was zone a: the copy goes to node-4, the only ACTIVE node in a zone the others are not in.
        #expect(target == id(4))
        #expect(steps[1] == .retire(id(1)))
        // With enough copies on ACTIVE nodes already, the draining copy is only retired.
        var again = ledger(6, states: [1: .draining])
        #expect(reconciler.steps(for: entry(on: [1, 2, 3, 4]), ledger: &again) == [.retire(id(1))])
    }

    @Test("a drain with nowhere to copy to retires nothing")
    func drainWithoutTargetKeepsCopy() {
        var loads = ledger(3, states: [1: .draining])
        #expect(reconciler.steps(for: entry(on: [1, 2, 3]), ledger: &loads) == [])
    }

    @Test("copies above the factor are trimmed once every holder serves, keeping three zones")
    func trimsExtraCopies() {
        var loads = ledger(6, down: [4])
        // node-4 is DOWN: nothing is trimmed while a holder does not serve.
        #expect(reconciler.steps(for: entry(on: [1, 2, 3, 4]), ledger: &loads) == [])
        loads = ledger(6, used: [1, 1, 1, 9, 1, 1].map { $0 * 1e9 })
        let steps = reconciler.steps(for: entry(on: [1, 2, 3, 4]), ledger: &loads)
        // node-1 and node-4 share zone a; node-4 is the fuller: it goes.
        #expect(steps == [.retire(id(4))])
    }

    @Test("a node far under its share receives copies from the fullest holders until within 5 %")
    func balancesTowardsEmptyNode() {
        // Six nodes in six zones, 200 files of 1 GB on the first five, node-6 empty (just joined); one walk.
        var holders: [[Int]] = []
        for file in 0..<200 { holders.append([1 + file % 5, 1 + (file + 1) % 5, 1 + (file + 2) % 5]) }
        let perNode = Double(200 * 3) / 5 * 1e9
        var loads = ledger(6, used: [perNode, perNode, perNode, perNode, perNode, 0], zonePerNode: true)
        var moved = 0
        for set in holders {
            let steps = reconciler.steps(for: entry(on: set, size: 1_000_000_000), ledger: &loads)
            if !steps.isEmpty {
                #expect(steps.count == 1)
                guard case .move(let source, let target) = steps[0] else { continue }
                #expect(target == id(6) && set.map(id).contains(source))
                moved += 1
            }
        }
        #expect(!loads.isUnbalanced)
        let share = loads.share(of: id(6))
        #expect(abs(loads.nodes[id(6)]!.usedBytes - share) <= 0.05 * share)
        // About a sixth of the copies moved, not more: the minimum for a fair share.
        #expect(moved >= 95 && moved <= 105, "\(moved)")
    }

    @Test("a balanced cluster moves nothing")
    func balancedStaysPut() {
        var loads = ledger(6)
        #expect(reconciler.steps(for: entry(on: [1, 2, 3]), ledger: &loads) == [])
    }
}
