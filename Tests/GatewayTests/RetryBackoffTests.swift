import Testing

@testable import Gateway

@Suite("Repair retry backoff")
struct RetryBackoffTests {
    @Test("the wait doubles with each failure from the configured base")
    func doubles() {
        let backoff = RetryBackoff(base: .milliseconds(200))
        #expect(backoff.delay(afterFailures: 0) == .milliseconds(200))
        #expect(backoff.delay(afterFailures: 1) == .milliseconds(400))
        #expect(backoff.delay(afterFailures: 3) == .milliseconds(1600))
        #expect(backoff.seconds(afterFailures: 2) == 0.8)
    }

    @Test("the wait is capped, however many failures there were")
    func capped() {
        let backoff = RetryBackoff(base: .seconds(2), cap: .seconds(600))
        #expect(backoff.delay(afterFailures: 8) == .seconds(512))
        #expect(backoff.delay(afterFailures: 9) == .seconds(600))
        #expect(backoff.delay(afterFailures: 1000) == .seconds(600))
        #expect(backoff.delay(afterFailures: -1) == .seconds(2))
    }
}
