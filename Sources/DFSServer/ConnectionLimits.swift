import ArgumentParser
import DFSOptions
import Foundation
import HTTPTypes
import HummingbirdCore
import Logging
import NIOCore

/// What one slow or idle client may hold: a connection that has not sent a whole request head within
/// `requestHeadTimeout`, or sits between requests (or stops sending a body) for `idleTimeout`, is closed; past
/// `maxConnections` open connections, new ones wait in the listen backlog. Without these, a few thousand clients
/// that send half a request and then nothing would hold their descriptors until the process runs out.
public struct ConnectionLimits: Sendable, Equatable {
    public var requestHeadTimeout: Duration
    public var idleTimeout: Duration
    public var maxConnections: Int

    public static let defaults = ConnectionLimits(
        requestHeadTimeout: .seconds(30), idleTimeout: .seconds(60), maxConnections: 4096)

    public init(requestHeadTimeout: Duration, idleTimeout: Duration, maxConnections: Int) {
        self.requestHeadTimeout = requestHeadTimeout
        self.idleTimeout = idleTimeout
        self.maxConnections = maxConnections
    }

    /// Raises the process's descriptor limit to its hard limit, and lowers `maxConnections` when even that
    /// leaves too few descriptors beside the connections (files, node connections, the metadata database).
    /// - Returns: the limits to use, and a sentence when `maxConnections` had to be lowered.
    public func fittedToDescriptorLimit(reserve: Int = 256) -> (limits: ConnectionLimits, warning: String?) {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return (self, nil) }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        let available = limit.rlim_cur >= UInt(Int.max) ? Int.max : Int(limit.rlim_cur) - reserve
        guard maxConnections > available else { return (self, nil) }
        var fitted = self
        fitted.maxConnections = max(16, available)
        return (
            fitted,
            "--max-connections \(maxConnections) exceeds the descriptor limit (\(limit.rlim_cur)); using \(fitted.maxConnections)"
        )
    }
}

/// `--request-head-timeout`, `--idle-timeout` and `--max-connections`, the same on every server binary.
public struct ConnectionLimitOptions: ParsableArguments {
    @Option(
        help: OptionEnvironment.help(
            "Close a connection that has not sent a whole request head after this long (default 30s).", "request-head-timeout"))
    var requestHeadTimeout: DurationArgument?
    @Option(
        help: OptionEnvironment.help(
            "Close a connection idle this long between requests, or whose request body stops arriving (default 60s).",
            "idle-timeout"))
    var idleTimeout: DurationArgument?
    @Option(
        help: OptionEnvironment.help(
            "Open connections served at once; more wait to be accepted (default 4096).", "max-connections"))
    var maxConnections: Int?

    public init() {}

    public func resolve() throws -> ConnectionLimits {
        let defaults = ConnectionLimits.defaults
        let head = try OptionEnvironment.resolve(
            requestHeadTimeout, "request-head-timeout", default: DurationArgument(defaults.requestHeadTimeout)
        ).duration
        let idle = try OptionEnvironment.resolve(idleTimeout, "idle-timeout", default: DurationArgument(defaults.idleTimeout))
            .duration
        let connections = try OptionEnvironment.resolve(maxConnections, "max-connections", default: defaults.maxConnections)
        guard head > .zero else { throw ValidationError("--request-head-timeout must be positive") }
        guard idle > .zero else { throw ValidationError("--idle-timeout must be positive") }
        guard connections > 0 else { throw ValidationError("--max-connections must be positive") }
        return ConnectionLimits(requestHeadTimeout: head, idleTimeout: idle, maxConnections: connections)
    }
}

/// Closes a connection that has not sent its first whole request head within the deadline. It sits behind the
/// HTTP decoder, so it sees whole heads only: a client trickling its head one byte at a time is closed just the
/// same. Between requests of a kept-alive connection the idle timeout takes over.
final class RequestHeadDeadline: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPConnectionStateHandler.InboundIn
    typealias InboundOut = HTTPConnectionStateHandler.InboundIn

    private let timeout: TimeAmount
    private var pending: Scheduled<Void>?

    init(timeout: Duration) {
        self.timeout = TimeAmount(timeout)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { arm(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        arm(context)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head = unwrapInboundIn(data) { disarm() }
        context.fireChannelRead(data)
    }

    func handlerRemoved(context: ChannelHandlerContext) { disarm() }

    func channelInactive(context: ChannelHandlerContext) {
        disarm()
        context.fireChannelInactive()
    }

    private func arm(_ context: ChannelHandlerContext) {
        guard pending == nil else { return }
        let channel = context.channel
        pending = context.eventLoop.scheduleTask(in: timeout) { channel.close(promise: nil) }
    }

    private func disarm() {
        pending?.cancel()
        pending = nil
    }
}
