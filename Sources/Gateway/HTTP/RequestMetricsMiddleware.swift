import Hummingbird
import NIOCore
import Synchronization

/// Measures every request for `GatewayMetrics`: count and duration by route template, method and status, and the
/// body bytes read and written. The outermost middleware, so it sees the status errors were rendered with, and it
/// records only after the response body has been streamed out: a download's time includes its transfer.
struct RequestMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: GatewayMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response
    {
        let started = ContinuousClock.now
        let received = ByteTally()
        var request = request
        // Counting in the stream itself keeps uploads streaming: each chunk is passed on as it comes.
        request.body = RequestBody(
            asyncSequence: request.body.map { buffer in
                received.add(buffer.readableBytes)
                self.metrics.activity.received(buffer.readableBytes)
                return buffer
            })
        let method = request.method.rawValue
        let response: Response
        do {
            response = try await next(request, context)
        } catch {
            // Only an error no inner middleware rendered gets here.
            metrics.recordRequest(
                route: Self.route(context), method: method, status: (error as? any HTTPResponseError)?.status.code ?? 500,
                duration: ContinuousClock.now - started, receivedBytes: received.total, sentBytes: 0)
            throw error
        }
        let status = response.status.code
        let body = response.body
        let metrics = self.metrics
        var measured = response
        measured.body = ResponseBody(contentLength: body.contentLength) { writer in
            let sent = ByteTally()
            func record() {
                metrics.recordRequest(
                    route: Self.route(context), method: method, status: status, duration: ContinuousClock.now - started,
                    receivedBytes: received.total, sentBytes: sent.total)
            }
            do {
                try await body.write(
                    writer.map { buffer in
                        sent.add(buffer.readableBytes)
                        metrics.activity.sent(buffer.readableBytes)
                        return buffer
                    })
            } catch {
                record()
                throw error
            }
            record()
        }
        return measured
    }

    /// The router's matched template (`/download/{key}`), or `unmatched`: never the raw path, which holds keys.
    private static func route(_ context: Context) -> String {
        guard let path = context.endpointPath, path.hasPrefix("/") else { return "unmatched" }
        return path
    }
}

/// Bytes counted across the tasks that stream a body.
final class ByteTally: Sendable {
    private let count = Atomic<Int64>(0)

    func add(_ bytes: Int) { count.add(Int64(bytes), ordering: .relaxed) }

    var total: Int64 { count.load(ordering: .relaxed) }
}
