#if HTTP
public import Hummingbird
public import Writ

/// A Hummingbird request context that carries what the Writ middleware granted.
public protocol WritRequestContext: RequestContext {
    /// The granted request, set by ``WritGatekeeperMiddleware`` before the route runs (`nil` on unprotected routes).
    var writGrant: GrantedRequest? { get set }
    /// The authority's authenticated caller, set by the authority's routes.
    var writCaller: WritCaller? { get set }
}

/// A basic ``WritRequestContext``.
public struct WritBasicRequestContext: WritRequestContext {
    /// Hummingbird's core context.
    public var coreContext: CoreRequestContextStorage
    /// The granted request.
    public var writGrant: GrantedRequest?
    /// The authority's authenticated caller.
    public var writCaller: WritCaller?

    /// Creates a context.
    public init(source: Source) {
        coreContext = .init(source: source)
    }
}
#endif
