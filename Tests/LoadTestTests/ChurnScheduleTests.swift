import Testing

@testable import LoadTest

@Suite("--churn fault schedule")
struct ChurnScheduleTests {
    let duration: Duration = .seconds(90)

    @Test("the same seed gives the same schedule, another seed another one")
    func seeded() {
        let first = FaultSchedule.churn(seed: 42, nodes: 3, duration: duration).faults.map(\.description)
        #expect(first == FaultSchedule.churn(seed: 42, nodes: 3, duration: duration).faults.map(\.description))
        #expect(first != FaultSchedule.churn(seed: 43, nodes: 3, duration: duration).faults.map(\.description))
    }

    @Test("one node is faulty at a time, for 2 to 5 seconds, kills and pauses both used, all restored at the end")
    func oneFaultyNodeAtATime() throws {
        for seed in UInt64(1)...20 {
            let faults = FaultSchedule.churn(seed: seed, nodes: 3, duration: duration).faults
            var faulty: FaultSchedule.Fault? = nil
            for fault in faults {
                switch fault.action {
                case .kill, .pause:
                    #expect(faulty == nil, "seed \(seed): \(fault) while another node is faulty")
                    #expect((1...3).contains(fault.node))
                    faulty = fault
                case .start, .resume:
                    let previous = try #require(faulty, "seed \(seed): \(fault) restores nothing")
                    #expect(fault.node == previous.node)
                    #expect(fault.action == (previous.action == .kill ? .start : .resume))
                    let outage = fault.at - previous.at
                    #expect(outage >= .milliseconds(1_900) && outage <= .milliseconds(4_900), "seed \(seed): outage \(outage)")
                    faulty = nil
                case .stop:
                    Issue.record("churn never stops a node gracefully")
                }
            }
            #expect(faulty == nil, "seed \(seed): the last faulty node is restored")
            #expect(try #require(faults.last).at <= duration)
            #expect(faults.filter { $0.action == .kill || $0.action == .pause }.count >= 90 / 5 - 1)
        }
        let actions = Set(
            (UInt64(1)...20).flatMap { FaultSchedule.churn(seed: $0, nodes: 3, duration: duration).faults.map(\.action) })
        #expect(actions == [.kill, .pause, .start, .resume])
    }
}
