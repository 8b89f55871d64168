import Foundation
import Testing
import TestSupport

/// Prints how fast a drain copies 1 MiB files. A measurement, not a test of
/// speed: it asserts only correctness and runs when DFS_MEASURE_RECOVERY is set (e.g. DFS_MEASURE_RECOVERY=100).
@Suite("Recovery throughput measurement", .serialized)
struct RecoveryThroughputMeasurement {
    static let fileCount = ProcessInfo.processInfo.environment["DFS_MEASURE_RECOVERY"].flatMap(Int.init)

    @Test("a manual recover of N 1 MiB files: files/s and MB/s", .enabled(if: fileCount != nil))
    func measureDrain() async throws {
        let count = Self.fileCount ?? 0
        let size = 1 << 20
        try await withCluster(
            nodes: 3, gatewayArguments: ["--recovery-interval", "1h", "--probe-interval", "1h", "--recovery-concurrency", "4"]
        ) { cluster in
            await cluster.stopNode(2)
            let payload = randomBytes(size)
            for index in 0..<count {
                // Distinct files with one payload: the copy cost is the same, the upload phase is faster.
                _ = try await cluster.gateway.uploadRaw(payload, filename: "t\(index).bin").expectingSuccess()
            }
            try await cluster.startNode(2)
            let clock = ContinuousClock()
            let started = clock.now
            let recover = try await cluster.gateway.post("/nodes/node-2/recover").expectingSuccess().jsonObject()
            let elapsed = clock.now - started
            #expect(recover["success"] as? Int == count)
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            let line = String(
                format: "recovery throughput: %d files of 1 MiB in %.2f s = %.1f files/s, %.1f MB/s (%.1f MiB/s)\n",
                count, seconds, Double(count) / seconds, Double(count * size) / seconds / 1e6, Double(count) / seconds)
            FileHandle.standardError.write(Data(line.utf8))
        }
    }
}
