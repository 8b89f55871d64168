import ServiceLifecycle

/// Releases a shared resource (HTTP client, I/O threads) once the services that use it have stopped.
///
/// It idles until the group shuts down; placed early in the service list, it is stopped late, after
/// the server has finished its requests.
struct ShutdownHook: Service {
    let action: @Sendable () async throws -> Void

    func run() async throws {
        try? await gracefulShutdown()  // throws only on cancellation: release the resource then too
        try await action()
    }
}
