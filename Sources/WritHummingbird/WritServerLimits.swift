#if HTTP
import Hummingbird
public import HummingbirdCore
import NIOCore
import NIOHTTPTypes

/// Connection limits for a Writ server (`Docs/HTTPBinding.md` §6, "Limits"), so that a slow or flooding client
/// cannot hold a server's connections or memory: the request head must arrive within ``headTimeout`` (counted
/// from the connection's start or the previous response, so it also bounds keep-alive idling), the body within
/// ``bodyTimeout`` of the head, a response must keep draining to the client (``writeTimeout``), and the head is at
/// most ``maximumHeaderBytes`` in at most ``maximumHeaderCount`` fields. A connection over a limit is closed (a
/// header block over the limit is refused by the HTTP decoder).
///
/// Use ``http1`` as the Hummingbird `Application`'s `server:`. Body sizes are capped per route (the middleware's
/// and the authority's `maximumBodyBytes`); a response being computed (a feed long-poll) is not timed.
public struct WritServerLimits: Sendable, Hashable {
    /// Longest wait for a complete request head (a trickled header block is closed when it runs out).
    public var headTimeout: Duration
    /// Longest wait, after the head, for the complete body (a trickled body is closed when it runs out).
    public var bodyTimeout: Duration
    /// Longest time the connection's outbound buffer may stay full (above its high-water mark) without going down:
    /// a client that stops reading its answer is closed when it runs out, instead of holding the connection, the
    /// response and its task without end. A client that keeps reading, however slowly, is not cut.
    public var writeTimeout: Duration
    /// The largest header block (names and values), in bytes.
    public var maximumHeaderBytes: Int
    /// The most header fields.
    public var maximumHeaderCount: Int

    /// Creates limits (defaults: head 10 s, body 30 s, write 30 s, header block 32 KiB, 100 fields).
    public init(
        headTimeout: Duration = .seconds(10),
        bodyTimeout: Duration = .seconds(30),
        writeTimeout: Duration = .seconds(30),
        maximumHeaderBytes: Int = 32 * 1024,
        maximumHeaderCount: Int = 100
    ) {
        self.headTimeout = headTimeout
        self.bodyTimeout = bodyTimeout
        self.writeTimeout = writeTimeout
        self.maximumHeaderBytes = max(1024, maximumHeaderBytes)
        self.maximumHeaderCount = max(8, maximumHeaderCount)
    }

    /// Hummingbird's HTTP/1.1 channel configuration with these limits (the timeouts as a channel handler).
    public var http1Configuration: HTTP1Channel.Configuration {
        let limits = self
        return HTTP1Channel.Configuration(
            additionalChannelHandlers: [WritSlowClientHandler(limits: limits)],
            idleTimeout: nil,
            httpDecoderConfiguration: .init(
                maxHeaderFieldSize: limits.maximumHeaderBytes,
                maxHeaderListSize: limits.maximumHeaderBytes,
                maxHeaderFieldCount: limits.maximumHeaderCount
            )
        )
    }

    /// An HTTP/1.1 server builder with these limits, for `Application(router:server:…)`.
    public var http1: HTTPServerBuilder { .http1(configuration: http1Configuration) }
}

/// Closes a connection whose request head or body does not arrive in time, or whose client stops reading (see
/// ``WritServerLimits``).
///
/// It sits after Hummingbird's HTTP codec: the head timer runs from the connection's start, and again once each
/// response has been written out with no request in flight; the body timer from each head to its end; the write
/// timer while the channel is not writable (its outbound buffer above the high-water mark), closing it when a
/// whole ``WritServerLimits/writeTimeout`` passes without the buffer going down. Only touched on the channel's
/// event loop.
final class WritSlowClientHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let headTimeout: TimeAmount
    private let bodyTimeout: TimeAmount
    private let writeTimeout: TimeAmount
    private var headTimer: Scheduled<Void>?
    private var bodyTimer: Scheduled<Void>?
    private var writeTimer: Scheduled<Void>?
    private var inFlight = 0
    private var readingBody = false

    init(limits: WritServerLimits) {
        headTimeout = Self.amount(limits.headTimeout)
        bodyTimeout = Self.amount(limits.bodyTimeout)
        writeTimeout = Self.amount(limits.writeTimeout)
    }

    private static func amount(_ duration: Duration) -> TimeAmount {
        let (seconds, attoseconds) = duration.components
        let clamped = min(max(0, seconds), 86_400)
        return .nanoseconds(clamped * 1_000_000_000 + max(0, attoseconds) / 1_000_000_000)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { armHead(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        if headTimer == nil, inFlight == 0 { armHead(context) }
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) { cancelAll() }

    func channelInactive(context: ChannelHandlerContext) {
        cancelAll()
        context.fireChannelInactive()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            writeTimer?.cancel()
            writeTimer = nil
        } else if writeTimer == nil {
            watchWrites(context, buffered: Self.bufferedBytes(context))
        }
        context.fireChannelWritabilityChanged()
    }

    /// While the channel is not writable: every ``WritServerLimits/writeTimeout`` the bytes it has buffered for
    /// the client must have gone down (the client reads, however slowly), else the connection is closed.
    private func watchWrites(_ context: ChannelHandlerContext, buffered before: Int?) {
        let loopBound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        writeTimer = context.eventLoop.scheduleTask(in: writeTimeout) {
            let (handler, context) = loopBound.value
            let now = Self.bufferedBytes(context)
            guard let before, let now, now < before else {
                // No progress, or none measurable on this channel: the limit applies.
                context.close(promise: nil)
                return
            }
            handler.watchWrites(context, buffered: now)
        }
    }

    /// The bytes the channel holds for the client, not yet written to the socket (`nil` when it cannot say).
    private static func bufferedBytes(_ context: ChannelHandlerContext) -> Int? {
        try? context.channel.syncOptions?.getOption(.bufferedWritableBytes)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            headTimer?.cancel()
            headTimer = nil
            inFlight += 1
            readingBody = true
            bodyTimer?.cancel()
            bodyTimer = schedule(context, after: bodyTimeout)
        case .body:
            break
        case .end:
            readingBody = false
            bodyTimer?.cancel()
            bodyTimer = nil
            // The response can be complete before the request's end is read (an early answer, or reads held back
            // by the server's backpressure): then no write re-arms the head timer, so arm it here.
            if inFlight == 0 { armHead(context) }
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard case .end = unwrapOutboundIn(data) else {
            context.write(data, promise: promise)
            return
        }
        // The head timer starts once the answer is written out, not when its end is queued: Hummingbird queues
        // head, body and end of a one-buffer answer at once, and a large answer still draining to a client that
        // reads it must not be cut by the idle timer (the write timer bounds a client that stops reading).
        let written = context.eventLoop.makePromise(of: Void.self)
        let loopBound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        written.futureResult.whenComplete { _ in
            let (handler, context) = loopBound.value
            handler.responseWritten(context)
        }
        if let promise { written.futureResult.cascade(to: promise) }
        context.write(data, promise: written)
    }

    private func responseWritten(_ context: ChannelHandlerContext) {
        inFlight = max(0, inFlight - 1)
        if inFlight == 0, !readingBody, context.channel.isActive { armHead(context) }
    }

    private func armHead(_ context: ChannelHandlerContext) {
        headTimer?.cancel()
        headTimer = schedule(context, after: headTimeout)
    }

    private func schedule(_ context: ChannelHandlerContext, after delay: TimeAmount) -> Scheduled<Void> {
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        return context.eventLoop.scheduleTask(in: delay) {
            loopBound.value.close(promise: nil)
        }
    }

    private func cancelAll() {
        headTimer?.cancel()
        bodyTimer?.cancel()
        writeTimer?.cancel()
        headTimer = nil
        bodyTimer = nil
        writeTimer = nil
    }
}

@available(*, unavailable)
extension WritSlowClientHandler: Sendable {}
#endif
