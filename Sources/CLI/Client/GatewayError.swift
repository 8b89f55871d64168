import AsyncHTTPClient
import Foundation

/// What went wrong talking to the gateway, phrased for the person at the terminal.
enum GatewayError: Error, CustomStringConvertible {
    case unreachable(gateway: String, reason: String)
    case timedOut(gateway: String, after: Duration)
    case transferStalled(gateway: String, after: Duration)
    case rejected(status: Int, code: String?, message: String)
    case invalidAnswer(String)

    var description: String {
        switch self {
        case .unreachable(let gateway, let reason):
            return "cannot reach the gateway at \(gateway) (\(reason)). Is it running? Start a local cluster with "
                + "`dfs up`, or name another gateway with --gateway URL or DFS_GATEWAY."
        case .timedOut(let gateway, let after):
            return "the gateway at \(gateway) did not answer within \(after.formattedSeconds); raise --timeout if it is busy"
        case .transferStalled(let gateway, let after):
            return "the transfer with \(gateway) made no progress for \(after.formattedSeconds) and was abandoned"
        case .rejected(let status, let code, let message):
            let hint =
                status == 401 ? "; pass --api-key KEY or set DFS_API_KEY" : status == 403 ? "; this needs a read-write key" : ""
            return "\(message) (HTTP \(status)\(code.map { ", \($0)" } ?? ""))\(hint)"
        case .invalidAnswer(let reason):
            return "the gateway sent an answer dfs cannot read: \(reason)"
        }
    }

    /// Turns an AsyncHTTPClient or NIO error into one of the cases above.
    static func from(_ error: any Error, gateway: String, timeout: Duration, duringTransfer: Bool) -> any Error {
        if error is GatewayError || error is CancellationError { return error }
        if let clientError = error as? HTTPClientError {
            switch clientError {
            case .deadlineExceeded:
                return GatewayError.timedOut(gateway: gateway, after: timeout)
            case .readTimeout, .writeTimeout:
                return duringTransfer
                    ? GatewayError.transferStalled(gateway: gateway, after: timeout)
                    : GatewayError.timedOut(gateway: gateway, after: timeout)
            case .connectTimeout:
                return GatewayError.unreachable(gateway: gateway, reason: "connection timed out")
            case .remoteConnectionClosed:
                return GatewayError.unreachable(gateway: gateway, reason: "the connection was closed by the gateway")
            default:
                return GatewayError.unreachable(gateway: gateway, reason: "\(clientError)")
            }
        }
        let text = String(describing: error)
        if text.contains("connectionRefused") || text.contains("Connection refused") || text.contains("ECONNREFUSED") {
            return GatewayError.unreachable(gateway: gateway, reason: "connection refused")
        }
        if text.contains("NXDOMAIN") || text.contains("resolve") || text.contains("lookup") {
            return GatewayError.unreachable(gateway: gateway, reason: "its host name does not resolve")
        }
        if text.contains("NIOConnectionError") || text.contains("connect") {
            return GatewayError.unreachable(gateway: gateway, reason: String(text.prefix(160)))
        }
        return error
    }
}

extension Duration {
    /// `30s`, `1.5s`, `250ms`.
    var formattedSeconds: String {
        let milliseconds = components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
        if milliseconds < 1000 { return "\(milliseconds)ms" }
        if milliseconds % 1000 == 0 { return "\(milliseconds / 1000)s" }
        return String(format: "%.1fs", Double(milliseconds) / 1000)
    }
}
