import DFSCore
import Testing
import TestSupport

@testable import Gateway

/// The routing decisions with plain values: peak EWMA, ejection, hedge delay and budget.
@Suite("Routing: latency average, ejection, hedging policy")
struct RoutingTests {
    func node(
        _ number: Int, latencyMs: Double?, inFlight: Int = 0, isUp: Bool = true, isEjected: Bool = false
    ) throws -> NodeScore {
        var score = NodeScore(
            endpoint: NodeEndpoint(id: try NodeID(validating: "node-\(number)"), baseURL: "http://fake-\(number)"),
            role: .replica, isUp: isUp,
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

    @Test("routing reads the average decayed for the time since its last sample, as if zeros had arrived")
    func decayOnRead() {
        let average = LatencyAverage(halfLife: .seconds(2))
        #expect(average.decayed(200, elapsed: .zero) == 200)
        #expect(abs(average.decayed(200, elapsed: .seconds(2)) - 100) < 1e-9)
        #expect(abs(average.decayed(200, elapsed: .seconds(6)) - 25) < 1e-9)
    }

    @Test("a node sidelined by one slow answer leads again once its peak has decayed, without new samples")
    func sidelinedNodeComesBack() async throws {
        let clock = ManualTime()
        let scoreboard = LatencyScoreboard(halfLife: .seconds(1), time: clock.source)
        let slow = try NodeID(validating: "node-1")
        let steady = try NodeID(validating: "node-2")
        await scoreboard.register(NodeEndpoint(id: slow, baseURL: "x"), role: .main, isUp: true)
        await scoreboard.register(NodeEndpoint(id: steady, baseURL: "y"), role: .replica, isUp: true)
        await scoreboard.probed(steady, isUp: true, latency: .milliseconds(10))
        await scoreboard.probed(slow, isUp: true, latency: .milliseconds(500))
        #expect(await scoreboard.ranked().first?.id == steady)
        // Six half-lives: 500 ms decays to 7.8 ms, below node-2's fresh 10 ms by more than a near-tie (1.25).
        clock.advance(by: .seconds(6))
        await scoreboard.probed(steady, isUp: true, latency: .milliseconds(10))
        let decayed = try #require(await scoreboard.score(of: slow)?.currentLatencyMs)
        #expect(abs(decayed - 500 / 64) < 1e-6)
        #expect(await scoreboard.ranked().first?.id == slow)
        #expect(await scoreboard.score(of: slow)?.ewmaLatencyMs == 500, "the measured figure itself only moves with samples")
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

    @Test("a flapping node follows every steady one, however fast, and precedes ejected and DOWN ones")
    func flappingRanksAfterSteady() throws {
        var generator = SystemRandomNumberGenerator()
        var flapping = try node(1, latencyMs: 0.5)
        flapping.isFlapping = true
        let candidates = [
            flapping, try node(2, latencyMs: 40), try node(3, latencyMs: 1, isEjected: true), try node(4, latencyMs: 90),
            try node(5, latencyMs: 1, isUp: false),
        ]
        for policy in RoutingPolicy.allCases {
            let ranked = NodeSelector(policy: policy).rank(candidates, turn: 7, using: &generator).map(\.id.rawValue)
            #expect(Set(ranked.prefix(2)) == ["node-2", "node-4"], "\(policy)")
            #expect(Array(ranked.suffix(3)) == ["node-1", "node-3", "node-5"], "\(policy)")
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
            await scoreboard.startRequest(on: fast.id).failed()
        }
        #expect(await scoreboard.score(of: fast.id)?.isEjected == false)
        await scoreboard.requestFailed(on: fast.id)
        #expect(await scoreboard.score(of: fast.id)?.isEjected == true)
        #expect(await scoreboard.ranked().first?.id.rawValue == "node-2")
        #expect(await scoreboard.score(of: fast.id)?.inFlight == 0)
        // A probe that got no answer, while hysteresis still calls the node UP, re-admits nothing.
        await scoreboard.probed(fast.id, isUp: true, latency: nil)
        #expect(await scoreboard.score(of: fast.id)?.isEjected == true)
        await scoreboard.probed(fast.id, isUp: true, latency: .milliseconds(1))
        #expect(await scoreboard.score(of: fast.id)?.isEjected == false)
        #expect(await scoreboard.score(of: fast.id)?.consecutiveFailures == 0)
    }

    @Test("a request lease is the node's load until its first verdict or until it is dropped unjudged")
    func requestLeaseEndsItself() async throws {
        let scoreboard = LatencyScoreboard(halfLife: .seconds(5), ejectAfter: 1)
        let id = try NodeID(validating: "node-1")
        await scoreboard.register(NodeEndpoint(id: id, baseURL: "x"), role: .main, isUp: true)
        let judged = scoreboard.startRequest(on: id)
        var dropped: RequestLease? = scoreboard.startRequest(on: id)
        #expect(await scoreboard.score(of: id)?.inFlight == 2)
        await judged.succeeded(latency: .milliseconds(3))
        await judged.failed()
        #expect(await scoreboard.score(of: id)?.inFlight == 1)
        #expect(await scoreboard.score(of: id)?.isEjected == false, "only the first verdict counts")
        #expect(dropped != nil)
        dropped = nil
        #expect(await scoreboard.score(of: id)?.inFlight == 0, "a lease dropped without a verdict frees its slot")
        #expect(await scoreboard.score(of: id)?.consecutiveFailures == 0, "and passes no verdict")
    }

    @Test("a node returning to UP (reconciled after an outage) is re-admitted even without a latency sample")
    func returnToUpReadmits() async throws {
        let scoreboard = LatencyScoreboard(halfLife: .seconds(5), ejectAfter: 1)
        let id = try NodeID(validating: "node-1")
        await scoreboard.register(NodeEndpoint(id: id, baseURL: "x"), role: .main, isUp: true)
        await scoreboard.requestFailed(on: id)
        #expect(await scoreboard.score(of: id)?.isEjected == true)
        await scoreboard.probed(id, isUp: false, latency: nil)
        await scoreboard.probed(id, isUp: true, latency: nil)
        #expect(await scoreboard.score(of: id)?.isSelectable == true)
    }

    @Test("a success between failures resets the streak, so scattered failures never eject")
    func scatteredFailuresDoNotEject() async throws {
        let scoreboard = LatencyScoreboard(halfLife: .seconds(5), ejectAfter: 2)
        let id = try NodeID(validating: "node-1")
        await scoreboard.register(NodeEndpoint(id: id, baseURL: "x"), role: .main, isUp: true)
        for _ in 0..<5 {
            await scoreboard.requestFailed(on: id)
            await scoreboard.startRequest(on: id).succeeded(latency: .milliseconds(2))
        }
        #expect(await scoreboard.score(of: id)?.isEjected == false)
    }

    @Test("rolling samples answer nearest-rank quantiles and forget the oldest")
    func rollingQuantiles() {
        var samples = RollingLatencySamples(capacity: 100, refreshEvery: 1)
        #expect(samples.quantileMs(0.95) == nil)
        for ms in 1...100 { samples.record(.milliseconds(ms)) }
        #expect(samples.quantileMs(0.95) == 95)
        #expect(samples.quantileMs(0.5) == 50)
        // 100 new samples of 7 ms replace all the old ones.
        for _ in 0..<100 { samples.record(.milliseconds(7)) }
        #expect(samples.quantileMs(0.95) == 7)
        #expect(samples.count == 100)
    }

    @Test("with a refresh interval the quantile view lags by at most that many samples")
    func quantileRefreshLags() {
        var samples = RollingLatencySamples(capacity: 64, refreshEvery: 8)
        for _ in 0..<64 { samples.record(.milliseconds(5)) }
        for _ in 0..<7 { samples.record(.milliseconds(900)) }
        #expect(samples.quantileMs(1) == 5, "not yet refreshed")
        samples.record(.milliseconds(900))
        #expect(samples.quantileMs(1) == 900)
    }

    @Test("the hedge delay is the node's p95 clamped to MIN..MAX, the pooled p95 if lower, MAX without data")
    func hedgeDelay() {
        let policy = HedgePolicy(
            minimumDelay: .milliseconds(20), maximumDelay: .milliseconds(500), quantile: 0.95, minimumSamples: 20)
        var empty = RollingLatencySamples(refreshEvery: 1)
        #expect(policy.delay(node: nil, pooled: empty) == .milliseconds(500))
        var node = RollingLatencySamples(refreshEvery: 1)
        for ms in 1...100 { node.record(.milliseconds(ms)) }  // p95 = 95 ms
        #expect(policy.delay(node: node, pooled: empty) == .milliseconds(95))
        var fast = RollingLatencySamples(refreshEvery: 1)
        for _ in 0..<50 { fast.record(.milliseconds(2)) }
        #expect(policy.delay(node: fast, pooled: empty) == .milliseconds(20), "clamped up to MIN")
        var stalling = RollingLatencySamples(refreshEvery: 1)
        for index in 0..<100 { stalling.record(.milliseconds(index % 10 == 0 ? 900 : 3)) }  // 10% stalls: own p95 = 900 ms
        #expect(policy.delay(node: stalling, pooled: empty) == .milliseconds(500), "clamped down to MAX")
        var pooled = RollingLatencySamples(refreshEvery: 1)
        for index in 0..<300 { pooled.record(.milliseconds(index % 30 == 0 ? 900 : 40)) }
        #expect(
            policy.delay(node: stalling, pooled: pooled) == .milliseconds(40), "the pooled p95 rescues a node that stalls often")
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

    @Test("a late leader is hedged to a replica expected to answer within half the wait so far, never to a slower one")
    func hedgeTarget() throws {
        let policy = HedgePolicy(winRatio: 0.5)
        let slow = HedgeCandidate(id: try NodeID(validating: "node-2"), expectedFirstByteMs: 52)
        let fast = HedgeCandidate(id: try NodeID(validating: "node-3"), expectedFirstByteMs: 3)
        // Waited 20 ms: a node behind a 50 ms delay would answer at about 72 ms, long after a leader 20 ms late.
        #expect(policy.target(among: [slow], waited: .milliseconds(20)) == nil)
        #expect(policy.target(among: [fast], waited: .milliseconds(20)) == fast.id)
        // Rank order decides among those that qualify; one that does not is passed over, not waited for.
        #expect(policy.target(among: [slow, fast], waited: .milliseconds(20)) == fast.id)
        // A leader late by 200 ms (a stall) makes even the delayed node worth asking.
        #expect(policy.target(among: [slow, fast], waited: .milliseconds(200)) == slow.id)
        #expect(policy.target(among: [fast], waited: .milliseconds(6)) == nil, "3 ms is not clearly below 6 ms")
        #expect(policy.target(among: [], waited: .seconds(1)) == nil)
    }

    @Test("a replica's expected first byte is its recent median or its latency average, whichever is higher")
    func expectedFirstByte() {
        let policy = HedgePolicy(minimumSamples: 20)
        var samples = RollingLatencySamples(refreshEvery: 1)
        for index in 0..<40 { samples.record(.milliseconds(index % 2 == 0 ? 50 : 60)) }  // median 50 ms
        #expect(policy.expectedFirstByteMs(samples: samples, latencyMs: 5) == 50)
        #expect(policy.expectedFirstByteMs(samples: samples, latencyMs: 200) == 200, "a node that just turned slow")
        var few = RollingLatencySamples(refreshEvery: 1)
        few.record(.milliseconds(1))
        #expect(policy.expectedFirstByteMs(samples: few, latencyMs: 30) == 30, "too few samples to trust the median")
        #expect(policy.expectedFirstByteMs(samples: nil, latencyMs: nil) == NodeScore.unmeasuredLatencyMs)
    }

    /// A scoreboard with node-1 (leader), node-2 behind a 50 ms delay and node-3 fast, as its probes measured them.
    func scoreboardWithDelayedNode(hedgeBudget: Double) async throws -> (LatencyScoreboard, slow: NodeScore, fast: NodeScore) {
        let scoreboard = LatencyScoreboard(halfLife: .seconds(60), hedging: HedgePolicy(), hedgeBudget: hedgeBudget)
        for (number, latency) in [(1, 2), (2, 52), (3, 3)] {
            let id = try NodeID(validating: "node-\(number)")
            await scoreboard.register(NodeEndpoint(id: id, baseURL: "http://fake-\(number)"), role: .replica, isUp: true)
            await scoreboard.probed(id, isUp: true, latency: .milliseconds(latency))
        }
        let slow = try #require(await scoreboard.score(of: try NodeID(validating: "node-2")))
        let fast = try #require(await scoreboard.score(of: try NodeID(validating: "node-3")))
        return (scoreboard, slow, fast)
    }

    @Test("the scoreboard sends no hedge, and spends no budget, when no replica can be expected to win")
    func noTargetSpendsNothing() async throws {
        let (scoreboard, slow, fast) = try await scoreboardWithDelayedNode(hedgeBudget: 0.25)
        let leader = try NodeID(validating: "node-1")
        for _ in 0..<8 { _ = await scoreboard.downloadStarting(on: leader) }
        #expect(abs(await scoreboard.hedgeTokens - 2) < 1e-6)
        #expect(await scoreboard.claimHedge(after: .milliseconds(20), among: [slow]) == nil)
        #expect(abs(await scoreboard.hedgeTokens - 2) < 1e-6, "a hedge not sent spends nothing")
        #expect(await scoreboard.claimHedge(after: .milliseconds(20), among: [slow, fast]) == fast.id)
        #expect(abs(await scoreboard.hedgeTokens - 1) < 1e-6)
    }

    @Test("hedges the budget allows stay at ratio × downloads when every late leader has a fast replica to ask")
    func budgetSharesHedges() async throws {
        let (scoreboard, _, fast) = try await scoreboardWithDelayedNode(hedgeBudget: 0.25)
        let leader = try NodeID(validating: "node-1")
        var hedged = 0
        for _ in 0..<12 {
            _ = await scoreboard.downloadStarting(on: leader)
            if await scoreboard.claimHedge(after: .milliseconds(20), among: [fast]) != nil { hedged += 1 }
        }
        // 12 downloads × 0.25 = 3 tokens, each spent on the first download that finds one.
        #expect(hedged == 3, "hedged \(hedged) of 12")
    }
}
