/// A kind of agent and the limits every credential of that kind obeys.
///
/// The authority mints tokens no longer than ``maximumTTL`` (``defaultTTL`` when the caller does not ask),
/// refreshes a credential at most ``refreshLimit`` times, and verifiers reject tokens whose delegation chain is
/// deeper than ``maximumDelegationDepth`` or that delegate at all when ``mayDelegate`` is false.
public struct AgentClass: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The longest class name accepted, in bytes.
    public static let maximumNameLength = 64

    /// The class name, 1…64 bytes of `a-z`, `0-9`, `.`, `-`, `_` (e.g. `researcher`).
    public let name: String
    /// The lifetime of a credential when the requester does not ask for one.
    public let defaultTTL: Duration
    /// The longest lifetime a credential of this class may have (from issue to expiry).
    public let maximumTTL: Duration
    /// How many delegation blocks may follow the issuer's block of a token of this class.
    public let maximumDelegationDepth: Int
    /// Whether tokens of this class may be delegated at all.
    public let mayDelegate: Bool
    /// How many times a credential of this class may be refreshed within one task step.
    public let refreshLimit: Int

    /// Creates a class after checking that its limits are consistent.
    ///
    /// - Throws: ``IdentityError/Code/invalidAgentClass`` when the name is not valid, a TTL is not positive,
    ///   `defaultTTL` exceeds `maximumTTL`, or a limit is negative.
    public init(
        name: String,
        defaultTTL: Duration,
        maximumTTL: Duration,
        maximumDelegationDepth: Int = 0,
        mayDelegate: Bool = false,
        refreshLimit: Int = 0
    ) throws(IdentityError) {
        guard AgentClass.isValidName(name) else {
            throw IdentityError(.invalidAgentClass, "class names are 1…64 bytes of a-z, 0-9, '.', '-', '_'")
        }
        guard defaultTTL > .zero, maximumTTL > .zero, defaultTTL <= maximumTTL else {
            throw IdentityError(
                .invalidAgentClass,
                "class '\(name)': TTLs must be positive and defaultTTL ≤ maximumTTL"
            )
        }
        guard maximumDelegationDepth >= 0, refreshLimit >= 0 else {
            throw IdentityError(.invalidAgentClass, "class '\(name)': limits must not be negative")
        }
        self.name = name
        self.defaultTTL = defaultTTL
        self.maximumTTL = maximumTTL
        self.maximumDelegationDepth = mayDelegate ? maximumDelegationDepth : 0
        self.mayDelegate = mayDelegate
        self.refreshLimit = refreshLimit
    }

    /// The delegation depth a token of this class may reach: 0 when it may not delegate.
    public var effectiveDelegationDepth: Int { mayDelegate ? maximumDelegationDepth : 0 }

    /// Whether `name` is a valid class name.
    public static func isValidName(_ name: String) -> Bool {
        let utf8 = name.utf8
        guard !utf8.isEmpty, utf8.count <= maximumNameLength else { return false }
        return utf8.allSatisfy { c in
            (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9"))
                || c == UInt8(ascii: ".") || c == UInt8(ascii: "-") || c == UInt8(ascii: "_")
        }
    }

    public var description: String {
        "AgentClass(\(name), ttl \(defaultTTL)/\(maximumTTL), depth \(effectiveDelegationDepth), refreshes \(refreshLimit))"
    }

    private enum CodingKeys: String, CodingKey {
        case name, defaultTTLSeconds, maximumTTLSeconds, maximumDelegationDepth, mayDelegate, refreshLimit
    }

    /// Decodes from JSON with TTLs in whole seconds, validating as ``init(name:defaultTTL:maximumTTL:maximumDelegationDepth:mayDelegate:refreshLimit:)``.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(
            name: c.decode(String.self, forKey: .name),
            defaultTTL: .seconds(c.decode(Int64.self, forKey: .defaultTTLSeconds)),
            maximumTTL: .seconds(c.decode(Int64.self, forKey: .maximumTTLSeconds)),
            maximumDelegationDepth: c.decodeIfPresent(Int.self, forKey: .maximumDelegationDepth) ?? 0,
            mayDelegate: c.decodeIfPresent(Bool.self, forKey: .mayDelegate) ?? false,
            refreshLimit: c.decodeIfPresent(Int.self, forKey: .refreshLimit) ?? 0
        )
    }

    /// Encodes as JSON with TTLs in whole seconds.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(defaultTTL.components.seconds, forKey: .defaultTTLSeconds)
        try c.encode(maximumTTL.components.seconds, forKey: .maximumTTLSeconds)
        try c.encode(maximumDelegationDepth, forKey: .maximumDelegationDepth)
        try c.encode(mayDelegate, forKey: .mayDelegate)
        try c.encode(refreshLimit, forKey: .refreshLimit)
    }
}
