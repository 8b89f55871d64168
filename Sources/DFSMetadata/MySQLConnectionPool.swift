import Foundation
import NIOPosix

/// A bounded pool of `MySQLConnection`s, each used on a thread of its own `NIOThreadPool`.
///
/// The C client blocks its thread for every round trip, so no call may run on an event loop or a
/// cooperative-pool thread; the thread pool has one thread per connection, so a leased connection always
/// finds a thread. A connection that hit a connection error is closed and replaced on the next lease:
/// that is how the store reconnects after the server restarts.
actor MySQLConnectionPool {
    private let options: MySQLConnectionOptions
    private let threads: NIOThreadPool
    private var idle: [MySQLConnection] = []
    private var openCount = 0
    private var waiters: [CheckedContinuation<Void, Never>] = []
    private var isClosed = false

    init(options: MySQLConnectionOptions) {
        self.options = options
        self.threads = NIOThreadPool(numberOfThreads: max(1, options.maximumConnections))
        threads.start()
    }

    /// Runs `body` with a leased connection on a pool thread (blocking calls allowed inside).
    ///
    /// A stale idle connection (the server restarted since its last use) is replaced and the body run once
    /// more, but only when its first statement failed, so no statement runs twice. Deadlocks are retried.
    /// - Throws: `MetadataError.unavailable` when the server cannot be reached; `MySQLError` otherwise.
    func withConnection<T: Sendable>(_ body: @escaping @Sendable (MySQLConnection) throws -> T) async throws -> T {
        var attempt = 0
        while true {
            attempt += 1
            let connection = try await lease()
            let wasReused = connection.useCount > 0
            do {
                let result = try await threads.runIfActive {
                    connection.resetCounter()
                    connection.useCount += 1
                    return try body(connection)
                }
                giveBack(connection)
                return result
            } catch let error as MySQLError {
                let nothingRan = connection.succeededStatements == 0
                giveBack(connection)
                if error.isConnectionLost {
                    if wasReused && nothingRan && attempt < 3 { continue }
                    throw MetadataError.unavailable("MySQL at \(options.host):\(options.port): \(error)")
                }
                if error.isTransient && attempt < 4 { continue }
                throw error
            } catch {
                giveBack(connection)
                throw error
            }
        }
    }

    /// Closes idle connections and stops the threads; leases after this fail as unavailable.
    func close() async throws {
        isClosed = true
        let closing = idle
        idle = []
        openCount -= closing.count
        for waiter in waiters { waiter.resume() }
        waiters = []
        try? await threads.runIfActive { for connection in closing { connection.close() } }
        try await threads.shutdownGracefully()
    }

    // MARK: - leasing

    private func lease() async throws -> MySQLConnection {
        while true {
            guard !isClosed else { throw MetadataError.unavailable("the MySQL metadata store is closed") }
            if let connection = idle.popLast() { return connection }
            if openCount < options.maximumConnections {
                openCount += 1
                do {
                    let options = self.options
                    return try await threads.runIfActive { try MySQLConnection.connect(options) }
                } catch {
                    openCount -= 1
                    wakeOne()
                    throw MetadataError.unavailable("cannot connect to MySQL at \(options.host):\(options.port): \(error)")
                }
            }
            // Every connection is busy: wait for one to come back (FIFO), then look again.
            await withCheckedContinuation { waiters.append($0) }
        }
    }

    private func giveBack(_ connection: MySQLConnection) {
        if connection.isBroken || isClosed {
            openCount -= 1
            // Closing a dead socket does not block for long (write timeout at worst); keep it off this actor.
            threads.submit { _ in connection.close() }
        } else {
            idle.append(connection)
        }
        wakeOne()
    }

    private func wakeOne() {
        if !waiters.isEmpty { waiters.removeFirst().resume() }
    }
}
