import Histogram
import Testing

@testable import LoadTest

@Suite("Run timeline and latency distribution")
struct RunTimelineTests {
    @Test("outcomes land in the second they finished in; quiet seconds are kept; the last second is as long as the run")
    func bucketsBySecond() {
        var timeline = RunTimeline()
        for micros in [1000, 2000, 3000, 4000] as [UInt64] {
            timeline.recordSuccess(at: .milliseconds(200), latencyMicros: micros, bytes: 10)
        }
        timeline.recordError(at: .milliseconds(900))
        timeline.recordSuccess(at: .milliseconds(3100), latencyMicros: 500_000, bytes: 10)
        timeline.recordMismatch(at: .milliseconds(3200))
        let seconds = timeline.seconds(through: .milliseconds(4500))
        #expect(seconds.map(\.second) == [0, 1, 2, 3, 4])
        #expect(seconds.map(\.operations) == [4, 0, 0, 1, 0])
        #expect(seconds[0].errors == 1 && seconds[0].bytes == 40)
        #expect(seconds[3].mismatches == 1)
        #expect(seconds[1].p50Ms == nil && seconds[1].operationsPerSecond == 0)
        // Two significant digits: within 1 % of the recorded values.
        #expect(abs((seconds[0].p50Ms ?? 0) - 2) < 0.03 && abs((seconds[0].maxMs ?? 0) - 4) < 0.05)
        #expect(abs((seconds[3].p99Ms ?? 0) - 500) < 5)
        #expect(seconds[4].durationSeconds == 0.5)
        #expect(seconds[3].errorsPerSecond == 1)
    }

    @Test("reading the seconds leaves the timeline open for more")
    func readingDoesNotClose() {
        var timeline = RunTimeline()
        timeline.recordSuccess(at: .milliseconds(100), latencyMicros: 1000, bytes: 1)
        _ = timeline.seconds(through: .seconds(1))
        timeline.recordSuccess(at: .milliseconds(300), latencyMicros: 1000, bytes: 1)
        #expect(timeline.seconds(through: .seconds(1)).map(\.operations) == [2])
    }

    @Test("the distribution climbs from the fastest to the slowest operation and ends at 100 %")
    func distribution() {
        var histogram = Histogram<UInt64>(highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: .three)
        for micros in 1...1000 { _ = histogram.record(UInt64(micros) * 100) }
        let points = PercentilePoint.distribution(of: histogram)
        #expect(points.count > 20)
        #expect(points.last?.percentile == 100)
        #expect(abs((points.last?.latencyMs ?? 0) - 100) < 0.2)
        #expect(zip(points, points.dropFirst()).allSatisfy { $0.percentile < $1.percentile && $0.latencyMs <= $1.latencyMs })
        let median = points.first { $0.percentile >= 50 }
        #expect(abs((median?.latencyMs ?? 0) - 50) < 1)
        #expect(PercentilePoint.distribution(of: Histogram<UInt64>(highestTrackableValue: 1000)).isEmpty)
    }
}

@Suite("Chart scales")
struct ChartScaleTests {
    @Test("percentiles spread by their nines: 90, 99 and 99.9 equally apart, 100 at the end")
    func percentileNines() {
        let scale = ChartScale(kind: .percentileNines, lower: 0, upper: 3)
        #expect(scale.fraction(0) == 0)
        #expect(abs(scale.fraction(90) - 1.0 / 3) < 1e-9)
        #expect(abs(scale.fraction(99) - 2.0 / 3) < 1e-9)
        #expect(abs(scale.fraction(99.9) - 1) < 1e-9)
        #expect(scale.fraction(100) == 1)
    }

    @Test("a log axis covers whole decades and ticks 1-2-5 in each")
    func logarithmic() {
        let (scale, ticks) = ChartScale.logarithmic(covering: 3.2...140)
        #expect(scale.lower == 1 && scale.upper == 1000)
        #expect(ticks == [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000])
        #expect(abs(scale.fraction(10) - 1.0 / 3) < 1e-9)
        #expect(ChartScale.logarithmic(covering: 0.5...50_000).ticks == [0.1, 1, 10, 100, 1000, 10_000, 100_000])
    }

    @Test("linear axes end on a round number; time axes tick at round steps")
    func linear() {
        #expect(ChartScale.roundedUp(0.7) == 1)
        #expect(ChartScale.roundedUp(180) == 200)
        #expect(ChartScale.roundedUp(230) == 250)
        #expect(ChartScale.linearFromZero(to: 37).ticks == [0, 10, 20, 30, 40])
        #expect(ChartScale.linearFromZero(to: 230).ticks == [0, 100, 200, 300])
        #expect(ChartScale.linearFromZero(to: 153).ticks == [0, 50, 100, 150, 200])
        #expect(ChartScale.linearFromZero(to: 40).scale.upper == 40)
        #expect(ChartScale.timeStep(for: 20) == 5)
        #expect(ChartScale.timeStep(for: 60) == 10)
        #expect(ChartScale.timeStep(for: 600) == 120)
    }
}
