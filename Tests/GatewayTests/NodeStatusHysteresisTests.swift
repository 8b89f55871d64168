import DFSCore
import Testing

@testable import Gateway

@Suite("Node UP/DOWN hysteresis")
struct NodeStatusHysteresisTests {
    let node = try! NodeID(validating: "node-2")

    @Test("the first probe of a node decides its status at once")
    func firstProbeDecides() {
        var hysteresis = NodeStatusHysteresis(threshold: 3)
        #expect(hysteresis.isUp(node) == nil)
        #expect(hysteresis.observe(node, probeSaysUp: true) == nil)
        #expect(hysteresis.isUp(node) == true)
    }

    @Test("a change needs threshold consecutive agreeing probes")
    func changeNeedsConsecutiveProbes() {
        var hysteresis = NodeStatusHysteresis(threshold: 2)
        _ = hysteresis.observe(node, probeSaysUp: true)
        #expect(hysteresis.observe(node, probeSaysUp: false) == nil)
        #expect(hysteresis.isUp(node) == true)
        #expect(hysteresis.observe(node, probeSaysUp: false) == .wentDown)
        #expect(hysteresis.isUp(node) == false)
        #expect(hysteresis.observe(node, probeSaysUp: true) == nil)
        #expect(hysteresis.observe(node, probeSaysUp: true) == .cameUp)
    }

    @Test("a node flapping every probe never changes status, so it never triggers a repair")
    func flappingIsIgnored() {
        var hysteresis = NodeStatusHysteresis(threshold: 2)
        _ = hysteresis.observe(node, probeSaysUp: true)
        var transitions: [NodeStatusHysteresis.Transition] = []
        for probe in 0..<20 {
            if let transition = hysteresis.observe(node, probeSaysUp: probe.isMultiple(of: 2) == false) {
                transitions.append(transition)
            }
        }
        #expect(transitions.isEmpty)
        #expect(hysteresis.isUp(node) == true)
    }

    @Test("threshold 1 follows every probe")
    func thresholdOne() {
        var hysteresis = NodeStatusHysteresis(threshold: 1)
        _ = hysteresis.observe(node, probeSaysUp: false)
        #expect(hysteresis.observe(node, probeSaysUp: true) == .cameUp)
        #expect(hysteresis.observe(node, probeSaysUp: false) == .wentDown)
    }
}
