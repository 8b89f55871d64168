import Logging
import ServiceLifecycle

/// Runs an audit pass every `--audit-interval` (the first one interval after start, so a restart does not
/// re-read every disk at once). Not added to the group when the interval is zero.
struct AuditLoop: Service {
    let auditor: ReplicaAuditor
    let interval: Duration

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await Task.sleep(for: interval)
                } catch {
                    return
                }
                _ = await auditor.auditAll()
            }
        }
    }
}
