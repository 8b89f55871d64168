import DFSCore
import Synchronization
import Testing

@Suite("Operations against a deadline")
struct DeadlineTests {
    @Test("an operation that finishes in time gives its value")
    func finishesInTime() async throws {
        #expect(try await withDeadline(.seconds(60)) { 42 } == 42)
    }

    @Test("an operation past its deadline throws DeadlineExceeded and is cancelled")
    func pastDeadline() async throws {
        let wasCancelled = Mutex(false)
        await #expect(throws: DeadlineExceeded.self) {
            try await withDeadline(.milliseconds(20)) {
                do {
                    try await Task.sleep(for: .seconds(3600))
                } catch {
                    wasCancelled.withLock { $0 = true }
                    throw error
                }
                return 0
            }
        }
        // The helper returns only once the operation has ended.
        #expect(wasCancelled.withLock { $0 })
    }

    @Test("the operation's own error passes through, and the watchdog's error wins only when it comes first")
    func errorsPassThrough() async throws {
        struct Broken: Error {}
        struct Expired: Error {}
        await #expect(throws: Broken.self) {
            try await race { () async throws -> Int in
                throw Broken()
            } against: {
                try await Task.sleep(for: .seconds(3600))
                throw Expired()
            }
        }
        await #expect(throws: Expired.self) {
            try await race { () async throws -> Int in
                try await Task.sleep(for: .seconds(3600))
                return 0
            } against: {
                throw Expired()
            }
        }
    }
}
