public import WritIdentity
public import WritTokens

/// What one agent class may be given for one audience: the ceiling a step's token is cut from.
public struct Entitlement: Hashable, Sendable {
    /// The service the entitlement is for.
    public var audience: String
    /// Actions the class may be granted there.
    public var actions: Set<String>
    /// Resource patterns the class may be granted there.
    public var resources: [ResourcePattern]

    /// Creates an entitlement.
    public init(audience: String, actions: Set<String>, resources: [ResourcePattern]) {
        self.audience = audience
        self.actions = actions
        self.resources = resources
    }

    /// Whether this entitlement covers everything `grant` asks for.
    public func covers(_ grant: StepGrant) -> Bool {
        grant.audience == audience && grant.actions.allSatisfy(actions.contains)
            && grant.resources.allSatisfy { wanted in resources.contains { $0.covers(wanted) } }
    }
}

/// Maps an agent (its identity and class) to what it may ever be granted.
///
/// The authority mints a step's token only when an entitlement covers the step's grant, so the token for a
/// step is the narrowest that works and never more than the class may have. The policy may read a database, so
/// it is asynchronous and may fail; the authority then refuses the step
/// (``AuthorityError/Code/entitlementsUnavailable``).
public protocol EntitlementPolicy: Sendable {
    /// The entitlements of `agent`, a member of `agentClass`.
    ///
    /// - Throws: when they cannot be read (the authority fails closed).
    func entitlements(for agent: AgentIdentity, agentClass: AgentClass) async throws -> [Entitlement]
}

/// A host-supplied table of entitlements per agent class name.
public struct EntitlementTable: EntitlementPolicy {
    private let byClass: [String: [Entitlement]]

    /// Creates the table.
    public init(_ byClass: [String: [Entitlement]]) { self.byClass = byClass }

    public func entitlements(for agent: AgentIdentity, agentClass: AgentClass) async throws -> [Entitlement] {
        byClass[agentClass.name] ?? []
    }
}

/// What one task step needs: one audience, a few actions, some resources, for about how long.
public struct StepGrant: Hashable, Sendable, CustomStringConvertible {
    /// The step's name, unique within its task (e.g. `read-issue`).
    public var name: String
    /// The one service the step talks to.
    public var audience: String
    /// The actions the step performs.
    public var actions: [String]
    /// The resources it touches.
    public var resources: [ResourcePattern]
    /// How long the step needs its token; `nil` means the class's default TTL.
    public var duration: Duration?

    /// Creates a step grant.
    public init(
        name: String,
        audience: String,
        actions: [String],
        resources: [ResourcePattern],
        duration: Duration? = nil
    ) {
        self.name = name
        self.audience = audience
        self.actions = actions
        self.resources = resources
        self.duration = duration
    }

    public var description: String {
        "\(name): \(actions.joined(separator: ",")) \(resources.map(\.text).joined(separator: ",")) @ \(audience)"
    }
}
