import Testing

@testable import Gateway

/// Slow-source detection from waits and byte counts alone: the clock is the test's.
@Suite("Slow-source detection")
struct SlowSourceDetectorTests {
    /// Feeds `chunks` chunks of `bytes`, each after waiting `wait`, and returns every verdict that is not `.keepGoing`.
    func feed(
        _ detector: inout SlowSourceDetector, chunks: Int, bytes: Int, wait: Duration, reference: Double?,
        remaining: Int64 = 1 << 30
    ) -> [SlowSourceDetector.Verdict] {
        (0..<chunks).map { _ in
            detector.delivered(bytes: bytes, waited: wait, recentThroughput: reference, bytesRemaining: remaining)
        }
        .filter { $0 != .keepGoing }
    }

    @Test("a source sustained below 1/8 of its recent throughput is judged too slow after one window")
    func sustainedSlownessTriggers() {
        var detector = SlowSourceDetector()
        // 64 KiB every 100 ms = 640 KiB/s against a node that usually does 100 MiB/s.
        let verdicts = feed(&detector, chunks: 10, bytes: 64 << 10, wait: .milliseconds(100), reference: 100 * 1_048_576)
        #expect(verdicts.count == 1)
        guard case .tooSlow(let rate) = verdicts.first else {
            Issue.record("expected tooSlow, got \(verdicts)")
            return
        }
        #expect(abs(rate - 655_360) < 1)
    }

    @Test("a source at its usual pace is measured, never judged slow")
    func normalPaceIsMeasured() {
        var detector = SlowSourceDetector()
        // 1 MiB per 10 ms = 100 MiB/s, the reference itself: a window closes every 16 MiB.
        let verdicts = feed(&detector, chunks: 64, bytes: 1 << 20, wait: .milliseconds(10), reference: 100 * 1_048_576)
        #expect(verdicts.count == 4)
        #expect(verdicts.allSatisfy { if case .measured = $0 { return true } else { return false } })
    }

    @Test("a dip shorter than the window never triggers")
    func shortDipIgnored() {
        var detector = SlowSourceDetector()
        // 900 ms of slowness, then fast again: the window closes with a fine average.
        var verdicts = feed(&detector, chunks: 9, bytes: 64 << 10, wait: .milliseconds(100), reference: 10 * 1_048_576)
        verdicts += feed(&detector, chunks: 20, bytes: 1 << 20, wait: .milliseconds(5), reference: 10 * 1_048_576)
        #expect(!verdicts.contains { if case .tooSlow = $0 { return true } else { return false } })
    }

    @Test("without a measured throughput for the node nothing is judged")
    func noReferenceNoVerdict() {
        var detector = SlowSourceDetector()
        let verdicts = feed(&detector, chunks: 30, bytes: 1024, wait: .milliseconds(100), reference: nil)
        #expect(!verdicts.contains { if case .tooSlow = $0 { return true } else { return false } })
    }

    @Test("near the end of a transfer switching is not worth it")
    func smallRemainderIgnored() {
        var detector = SlowSourceDetector()
        let verdicts = feed(
            &detector, chunks: 20, bytes: 1024, wait: .milliseconds(100), reference: 100 * 1_048_576, remaining: 100_000)
        #expect(verdicts.isEmpty)
    }

    @Test("a slow client (chunks ready at once) neither triggers nor inflates the yardstick")
    func slowClientIsNotASlowSource() {
        var detector = SlowSourceDetector()
        // The gateway's waits are tiny because the source is ahead of a client that reads slowly.
        let verdicts = feed(&detector, chunks: 1000, bytes: 64 << 10, wait: .microseconds(5), reference: 100 * 1_048_576)
        #expect(verdicts.isEmpty, "windows of buffered bytes are discarded as noise: \(verdicts)")
    }
}
