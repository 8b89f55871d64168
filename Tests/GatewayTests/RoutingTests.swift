import DFSCore
import Testing

@testable import Gateway

/// The routing decisions of SPEC §5 and issue 5 with plain values: peak EWMA, ejection, hedge delay and budget.
@Suite("Routing: latency average, ejection, hedging policy")
struct RoutingTests {
    func node(_ number: Int, latencyMs: Double?, inFlight: Int = 0, isUp: Bool = true, isEjected: Bool = false) throws -> NodeScore {
        var score = NodeScore(
            endpoint: NodeEndpoint(id: try NodeID(validating: "node-\(number)"), baseURL: "http://fake-\(number)"), role: .replica, isUp: isUp,
            ewmaLatencyMs: latencyMs, inFlight: inFlight, consecutiveFailures: 0)
        score.isEjected = isEjected
        return score
    }

    @Test("a sample above the average takes effect at once")
    func peakTakesOver() {
        let average = LatencyAverage(halfLife: .seconds(5))
        #expect(average.updated(previous: 2, sample: 200, elapsed: .milliseconds(1)) == 200)
    }

    @Test("a lower sample decays in with the time-based half-life")
    func lowerSamplesDecay() {
        let average = LatencyAverage(halfLife: .seconds(5))
        // One half-life later the old value keeps half its weight.
        #expect(abs(average.updated(previous: 200, sample: 10, elapsed: .seconds(5)) - 105) < 1e-9)
        // Right after the peak a low sample barely moves it; long after, it almost replaces it.
        #expect(average.updated(previous: 200, sample: 10, elapsed: .milliseconds(10)) > 199)
        #expect(average.updated(previous: 200, sample: 10, elapsed: .seconds(50)) < 11)
    }

    @Test("an ejected node ranks behind every selectable one, however fast, and ahead of DOWN ones")
    func ejectedRanksLast() throws {
        var generator = SystemRandomNumberGenerator()
        let candidates = [
            try node(1, latencyMs: 1, isEjected: true), try node(2, latencyMs: 40), try node(3, latencyMs: 0.5, isUp: false),
            try node(4, latencyMs: 90),
        ]
        for policy in RoutingPolicy.allCases {
            let ranked = NodeSelector(policy: policy).rank(candidates, turn: 1, using: &generator).map(\.id.rawValue)
            #expect(Set(ranked.prefix(2)) == ["node-2", "node-4"], "\(policy)")
            #expect(Array(ranked.suffix(2)) == ["node-1", "node-3"], "\(policy)")
        }
    }

    @Test("consecutive failures eject a node at --eject-after; a successful probe re-admits it")
    func ejectionAndReadmission() async throws {
        let scoreboard = LatencyScoreboard(halfLife: .seconds(5), ejectAfter: 3)
        let fast = try node(1, latencyMs: nil)
        await scoreboard.register(fast.endpoint, role: .main, isUp: true)
        await scoreboard.register(try node(2, latencyMs: nil).endpoint, role: .replica, isUp: true)
        await scoreboard.probed(fast.id, isUp: true, latency: .milliseconds(1))
        await scoreboard.probed(try NodeID(validating: "node-2"), isUp: true, latency: .milliseconds(30))
        for _ in 0..<2 {
            await scoreboard.requestStarted(on: fast.id)
            await scoreboard.requestFinished(on: fast.id, latency: nil, failed: true)
        }
        #expect(await scoreboard.score(of: fast.id)?.isEjected == false)
        await scoreboard.requestFailed(on: fast.id)
        #expect(await scoreboard.score(of: fast.id)?.isEjected == true)
        #expect(await scoreboard.ranked().first?.id.rawValue == "node-2")
        #expect(await scoreboard.score(of: fast.id)?.inFlight == 0)
        await scoreboard.probed(fast.id, isUp: true, latency: .milliseconds(1))
        #expect(await scoreboard.score(of: fast.id)?.isEjected == false)
        #expect(await scoreboard.score(of: fast.id)?.consecutiveFailures == 0)
    }

    @Test("a success between failures resets the streak, so scattered failures never eject")
    func scatteredFailuresDoNotEject() async throws {
        let scoreboard = LatencyScoreboard(halfLife: .seconds(5), ejectAfter: 2)
        let id = try NodeID(validating: "node-1")
        await scoreboard.register(NodeEndpoint(id: id, baseURL: "x"), role: .main, isUp: true)
        for _ in 0..<5 {
            await scoreboard.requestFailed(on: id)
            await scoreboard.requestStarted(on: id)
            await scoreboard.requestFinished(on: id, latency: .milliseconds(2), failed: false)
        }
        #expect(await scoreboard.score(of: id)?.isEjected == false)
    }

    @Test("rolling samples answer nearest-rank quantiles and forget the oldest")
    func rollingQuantiles() {
        var samples = RollingLatencySamples(capacity: 100)
        #expect(samples.quantileMs(0.95) == nil)
        for ms in 1...100 { samples.record(.milliseconds(ms)) }
        #expect(samples.quantileMs(0.95) == 95)
        #expect(samples.quantileMs(0.5) == 50)
        // 100 new samples of 7 ms replace all the old ones.
        for _ in 0..<100 { samples.record(.milliseconds(7)) }
        #expect(samples.quantileMs(0.95) == 7)
        #expect(samples.count == 100)
    }

    @Test("the hedge delay is the node's p95 clamped to MIN..MAX, the pooled p95 if lower, MAX without data")
    func hedgeDelay() {
        let policy = HedgePolicy(minimumDelay: .milliseconds(20), maximumDelay: .milliseconds(500), quantile: 0.95, minimumSamples: 20)
        var empty = RollingLatencySamples()
        #expect(policy.delay(node: nil, pooled: empty) == .milliseconds(500))
        var node = RollingLatencySamples()
        for ms in 1...100 { node.record(.milliseconds(ms)) }  // p95 = 95 ms
        #expect(policy.delay(node: node, pooled: empty) == .milliseconds(95))
        var fast = RollingLatencySamples()
        for _ in 0..<50 { fast.record(.milliseconds(2)) }
        #expect(policy.delay(node: fast, pooled: empty) == .milliseconds(20), "clamped up to MIN")
        var stalling = RollingLatencySamples()
        for index in 0..<100 { stalling.record(.milliseconds(index % 10 == 0 ? 900 : 3)) }  // 10% stalls: own p95 = 900 ms
        #expect(policy.delay(node: stalling, pooled: empty) == .milliseconds(500), "clamped down to MAX")
        var pooled = RollingLatencySamples()
        for index in 0..<300 { pooled.record(.milliseconds(index % 30 == 0 ? 900 : 40)) }
        #expect(policy.delay(node: stalling, pooled: pooled) == .milliseconds(40), "the pooled p95 rescues a node that stalls often")
        // Too few samples of its own: the pooled figure decides.
        empty.record(.milliseconds(1))
        #expect(policy.delay(node: empty, pooled: pooled) == .milliseconds(40))
    }

    @Test("the hedge budget allows ratio × downloads plus a capped burst, and nothing at 0")
    func hedgeBudget() {
        var budget = HedgeBudget(ratio: 0.05, burst: 3)
        let spentFresh = budget.trySpend()
        #expect(!spentFresh, "a fresh budget is empty")
        var hedges = 0
        for _ in 0..<1000 {
            budget.downloadStarted()
            if budget.trySpend() { hedges += 1 }
        }
        #expect(hedges == 50)
        // Saved up while idle from hedging, but never more than the burst.
        for _ in 0..<1000 { budget.downloadStarted() }
        var burst = 0
        while budget.trySpend() { burst += 1 }
        #expect(burst == 3)
        var none = HedgeBudget(ratio: 0)
        for _ in 0..<1000 { none.downloadStarted() }
        let spentNone = none.trySpend()
        #expect(!spentNone)
    }
}
