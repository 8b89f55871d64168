import DFSMetadata
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// The gateway's one `MetricsHistory`, shared by the sampler that writes it and the route that reads it. Reads copy
/// the samples out under the lock and encode after it.
final class SharedMetricsHistory: Sendable {
    private let state: Mutex<MetricsHistory>
    let window: Duration
    let interval: Duration

    init(window: Duration, interval: Duration = .seconds(1)) {
        state = Mutex(MetricsHistory(window: window, interval: interval))
        self.window = window
        self.interval = interval
    }

    func update(_ change: (inout MetricsHistory) -> Void) { state.withLock { change(&$0) } }

    func samples(after since: Date?) -> HistorySnapshot { state.withLock { $0.samples(after: since) } }
}

/// Feeds the history: every `interval` the nodes' state and the traffic counters, and the replication summary as
/// often as `SummaryCadence` allows. Two loops in one task group, both ended by graceful shutdown.
struct HistorySampler<C: Clock>: Service where C.Duration == Duration {
    let history: SharedMetricsHistory
    let counters: ActivityCounters
    let scoreboard: LatencyScoreboard
    let store: any MetadataStore
    let replicationFactor: Int
    var cadence = SummaryCadence()
    let clock: C
    /// Labels samples with the time a browser or notebook plots them at; never used to decide anything.
    var wallClock: @Sendable () -> Date = { Date() }
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await self.activityLoop() }
                group.addTask { await self.replicationLoop() }
                await group.next()
                group.cancelAll()
            }
        }
    }

    /// One sample of every node and of the traffic counters, `at` on the sampler's monotonic time line.
    private func sampleActivity(at: Duration) async {
        let nodes = await scoreboard.all()
        let totals = counters.totals
        // Read under the history's lock, which orders the two loops' samples.
        history.update { $0.record(at: at, time: wallClock(), totals: totals, nodes: nodes) }
    }

    /// One replication summary; returns how long the store took. A failed read leaves a gap in the series.
    @discardableResult
    private func sampleReplication() async -> Duration {
        let started = clock.now
        do {
            let summary = try await store.replicationSummary(replicationFactor: replicationFactor)
            history.update { $0.record(summary, time: wallClock()) }
        } catch {
            logger.debug("history: replication summary failed", metadata: ["error": "\(error)"])
        }
        return started.duration(to: clock.now)
    }

    private func activityLoop() async {
        let origin = clock.now
        var next = origin
        while !Task.isCancelled {
            await sampleActivity(at: origin.duration(to: clock.now))
            next = next.advanced(by: history.interval)
            // A sampler that fell behind (a starved machine) skips the missed ticks instead of bunching them up.
            if next < clock.now { next = clock.now.advanced(by: history.interval) }
            do {
                try await clock.sleep(until: next, tolerance: nil)
            } catch {
                return
            }
        }
    }

    private func replicationLoop() async {
        var cadence = cadence
        while !Task.isCancelled {
            let started = clock.now
            let took = await sampleReplication()
            do {
                try await clock.sleep(until: started.advanced(by: cadence.wait(after: took)), tolerance: nil)
            } catch {
                return
            }
        }
    }
}
