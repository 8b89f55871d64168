import DFSCore
import Testing

@testable import Gateway

@Suite("Node UP/DOWN hysteresis and flap damping")
struct NodeStatusHysteresisTests {
    let node = try! NodeID(validating: "node-2")
    let start = ContinuousClock.now

    @Test("the first probe of a node decides its status at once")
    func firstProbeDecides() {
        var hysteresis = NodeStatusHysteresis(threshold: 3)
        #expect(hysteresis.isUp(node) == nil)
        #expect(hysteresis.observe(node, probeSaysUp: true, at: start) == nil)
        #expect(hysteresis.isUp(node) == true)
    }

    @Test("going DOWN needs threshold consecutive failed probes; one answer brings the node back at once")
    func downNeedsConsecutiveProbesUpIsImmediate() {
        var hysteresis = NodeStatusHysteresis(threshold: 2)
        _ = hysteresis.observe(node, probeSaysUp: true, at: start)
        #expect(hysteresis.observe(node, probeSaysUp: false, at: start + .seconds(5)) == nil)
        #expect(hysteresis.isUp(node) == true)
        #expect(hysteresis.observe(node, probeSaysUp: false, at: start + .seconds(10)) == .wentDown)
        #expect(hysteresis.isUp(node) == false)
        #expect(hysteresis.observe(node, probeSaysUp: true, at: start + .seconds(11)) == .cameUp)
        #expect(hysteresis.isUp(node) == true)
        #expect(!hysteresis.isFlapping(node, at: start + .seconds(11)), "one outage is not flapping")
    }

    @Test("a node that fails every other probe never goes DOWN, so it never triggers a repair")
    func alternatingProbesNeverGoDown() {
        var hysteresis = NodeStatusHysteresis(threshold: 2)
        _ = hysteresis.observe(node, probeSaysUp: true, at: start)
        var transitions: [NodeStatusHysteresis.Transition] = []
        for probe in 1...20 {
            if let transition = hysteresis.observe(node, probeSaysUp: probe.isMultiple(of: 2), at: start + .seconds(probe)) {
                transitions.append(transition)
            }
        }
        #expect(transitions.isEmpty)
        #expect(hysteresis.isUp(node) == true)
    }

    @Test("the third DOWN within the window makes a node flapping until it has answered without a break for the hold")
    func flappingNodeIsDampedUntilItStays() {
        let damping = NodeStatusHysteresis.Damping(flapLimit: 3, window: .seconds(600), hold: .seconds(10))
        var hysteresis = NodeStatusHysteresis(threshold: 1, damping: damping)
        var now = start
        _ = hysteresis.observe(node, probeSaysUp: true, at: now)
        for outage in 1...3 {
            now += .seconds(20)
            #expect(hysteresis.observe(node, probeSaysUp: false, at: now) == .wentDown)
            #expect(hysteresis.isFlapping(node, at: now) == (outage == 3))
            now += .seconds(2)
            #expect(hysteresis.observe(node, probeSaysUp: true, at: now) == .cameUp, "back in selection at once")
        }
        #expect(hysteresis.isFlapping(node, at: now), "it just came back for the third time")
        #expect(hysteresis.isFlapping(node, at: now + .seconds(9)))
        _ = hysteresis.observe(node, probeSaysUp: true, at: now + .seconds(5))
        #expect(!hysteresis.isFlapping(node, at: now + .seconds(10)), "answered for the whole hold")
        // A failed probe breaks the run of answers: the hold starts again at the next answer.
        _ = hysteresis.observe(node, probeSaysUp: false, at: now + .seconds(11))
        _ = hysteresis.observe(node, probeSaysUp: true, at: now + .seconds(12))
        #expect(hysteresis.isFlapping(node, at: now + .seconds(20)))
        #expect(!hysteresis.isFlapping(node, at: now + .seconds(22)))
    }

    @Test("outages older than the window are forgotten")
    func oldOutagesAreForgotten() {
        let damping = NodeStatusHysteresis.Damping(flapLimit: 2, window: .seconds(60), hold: .seconds(10))
        var hysteresis = NodeStatusHysteresis(threshold: 1, damping: damping)
        _ = hysteresis.observe(node, probeSaysUp: true, at: start)
        _ = hysteresis.observe(node, probeSaysUp: false, at: start + .seconds(1))
        _ = hysteresis.observe(node, probeSaysUp: true, at: start + .seconds(2))
        _ = hysteresis.observe(node, probeSaysUp: false, at: start + .seconds(70))
        #expect(!hysteresis.isFlapping(node, at: start + .seconds(70)), "the first outage left the window")
        _ = hysteresis.observe(node, probeSaysUp: true, at: start + .seconds(71))
        _ = hysteresis.observe(node, probeSaysUp: false, at: start + .seconds(80))
        #expect(hysteresis.isFlapping(node, at: start + .seconds(80)))
    }

    @Test("threshold 1 follows every probe")
    func thresholdOne() {
        var hysteresis = NodeStatusHysteresis(threshold: 1)
        _ = hysteresis.observe(node, probeSaysUp: false, at: start)
        #expect(hysteresis.observe(node, probeSaysUp: true, at: start + .seconds(1)) == .cameUp)
        #expect(hysteresis.observe(node, probeSaysUp: false, at: start + .seconds(2)) == .wentDown)
    }
}
