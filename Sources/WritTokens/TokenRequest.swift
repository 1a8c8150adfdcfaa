/// The request a token is presented for: which service (audience), what action, on which resource.
public struct TokenRequest: Hashable, Sendable, CustomStringConvertible {
    /// The service the request is addressed to; must be one of the token's audiences.
    public var audience: String
    /// The action requested; must be one of the token's actions (exact match).
    public var action: String
    /// The resource requested; must match one of the token's resource patterns.
    public var resource: String
    /// Attributes the service knows about the request (e.g. `method` = `GET`), checked by
    /// ``Caveat/requestAttribute(name:value:)`` caveats. Not covered by the proof of possession: the service
    /// fills them in from what it observes itself.
    public var attributes: [String: String]
    /// A 32-byte digest of the transport request the proof is bound to (for HTTP, the binding's request digest
    /// over method, URL and body: `Docs/HTTPBinding.md`), or `nil` for a proof bound to audience, action and
    /// resource only.
    ///
    /// Covered by the proof of possession: the presenter signs it and the verifier recomputes it from what it
    /// received, so a proof made for one method, URL or body does not verify for another. A value that is not
    /// 32 bytes makes every proof invalid.
    public var binding: [UInt8]?

    /// Creates a request.
    public init(
        audience: String,
        action: String,
        resource: String,
        attributes: [String: String] = [:],
        binding: [UInt8]? = nil
    ) {
        self.audience = audience
        self.action = action
        self.resource = resource
        self.attributes = attributes
        self.binding = binding
    }

    /// The number of bytes in a ``binding``.
    public static let bindingByteCount = 32

    public var description: String { "\(action) \(resource) @ \(audience)" }
}

/// Tunables of the per-request check.
public struct VerificationOptions: Hashable, Sendable {
    /// The largest clock skew accepted.
    public static let maximumClockSkew: Duration = .seconds(300)

    /// How far the verifier's clock may disagree with the issuer's and presenter's (default 30 s, capped at
    /// ``maximumClockSkew``).
    public var clockSkew: Duration {
        didSet { clockSkew = min(max(clockSkew, .zero), VerificationOptions.maximumClockSkew) }
    }
    /// How old a proof of possession may be (default 60 s), plus ``clockSkew``.
    public var proofFreshness: Duration

    /// Creates options.
    public init(clockSkew: Duration = .seconds(30), proofFreshness: Duration = .seconds(60)) {
        self.clockSkew = min(max(clockSkew, .zero), VerificationOptions.maximumClockSkew)
        self.proofFreshness = max(proofFreshness, .zero)
    }
}
