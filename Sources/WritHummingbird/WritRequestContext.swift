#if HTTP
public import Hummingbird
public import NIOCore
public import Writ

/// A Hummingbird request context that carries what the Writ middleware granted.
///
/// The authority's routes (``WritAuthorityRoutes``) authenticate their callers themselves and hand the caller to
/// their own handlers; nothing downstream of them reads a context, so the context carries no caller.
public protocol WritRequestContext: RequestContext {
    /// The granted request, set by ``WritGatekeeperMiddleware`` before the route runs (`nil` on unprotected routes).
    var writGrant: GrantedRequest? { get set }
}

/// A basic ``WritRequestContext`` that also knows the peer's address (for the authority's per-address rate limit
/// on its anonymous routes).
public struct WritBasicRequestContext: WritRequestContext, RemoteAddressRequestContext {
    /// Hummingbird's core context.
    public var coreContext: CoreRequestContextStorage
    /// The granted request.
    public var writGrant: GrantedRequest?
    /// The connected peer's address (`nil` when the transport has none, e.g. in router tests).
    public let remoteAddress: SocketAddress?

    /// Creates a context.
    public init(source: Source) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }
}
#endif
