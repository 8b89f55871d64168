import DFSCore
import DFSMetadata
import Testing

@testable import Gateway

@Suite("Extra copies for long outages")
struct RereplicationPlannerTests {
    func id(_ number: Int) -> NodeID { try! NodeID(validating: "node-\(number)") }
    func active(_ numbers: Int...) -> [FileLocation] {
        numbers.map { FileLocation(nodeID: id($0), status: .active, lastVerifiedAt: nil) }
    }

    @Test("a copy on a long-DOWN node is replaced on the best serving node without one")
    func replacesCopyOnDownNode() {
        let planner = RereplicationPlanner(replicationFactor: 3)
        let targets = planner.extraTargets(locations: active(1, 2, 3), queuedTargets: [], serving: [id(4), id(1), id(2), id(5)])
        #expect(targets == [id(4)])
    }

    @Test("copies already queued on serving nodes count, so repeated passes do not pile up items")
    func queuedCopiesCount() {
        let planner = RereplicationPlanner(replicationFactor: 3)
        #expect(
            planner.extraTargets(locations: active(1, 2, 3), queuedTargets: [id(4)], serving: [id(1), id(2), id(4), id(5)])
                .isEmpty)
    }

    @Test("a file at the factor on serving nodes needs nothing; with too few nodes it gets what exists")
    func boundaries() {
        let planner = RereplicationPlanner(replicationFactor: 3)
        #expect(planner.extraTargets(locations: active(1, 2, 4), queuedTargets: [], serving: [id(1), id(2), id(4)]).isEmpty)
        #expect(planner.extraTargets(locations: active(1, 2, 3), queuedTargets: [], serving: [id(1)]).isEmpty)
        #expect(planner.extraTargets(locations: active(3), queuedTargets: [], serving: [id(1), id(2)]) == [id(1), id(2)])
    }
}
