public import WritCrypto

/// What a revocation applies to.
///
/// Revoking a ``block(_:)`` revokes that token block and, because a verifier checks the revocation id of every
/// block in a chain, every token delegated from it. The wider targets revoke every token of a task, of an agent
/// identity, or signed by an issuer key (after a key compromise).
public enum RevocationTarget: Hashable, Sendable, CustomStringConvertible {
    /// One token block, by its revocation id, and everything delegated from it.
    case block(RevocationID)
    /// Every token minted for a task, by task id.
    case task(String)
    /// Every token held by an agent identity, by its SPIFFE id text.
    case agent(String)
    /// Every token whose first block was signed by this issuer key.
    case issuerKey(KeyID)

    /// The longest task id or agent id text accepted, in UTF-8 bytes.
    public static let maximumNameByteCount = 1024

    /// The kind of a target, with a stable text form for durable stores.
    public enum Kind: String, Hashable, Sendable, CaseIterable {
        /// A token block.
        case block
        /// A task.
        case task
        /// An agent identity.
        case agent
        /// An issuer key.
        case issuerKey = "issuer-key"
    }

    /// The kind of this target.
    public var kind: Kind {
        switch self {
        case .block: .block
        case .task: .task
        case .agent: .agent
        case .issuerKey: .issuerKey
        }
    }

    /// The target's value as text: lowercase hex for ids and keys, the name itself for tasks and agents.
    public var value: String {
        switch self {
        case .block(let id): id.description
        case .task(let task): task
        case .agent(let agent): agent
        case .issuerKey(let key): key.description
        }
    }

    /// Rebuilds a target from its stored ``kind`` and ``value``.
    ///
    /// - Throws: ``RevocationError/Code/invalidTarget`` when the value is not valid for the kind (malformed hex,
    ///   empty or oversized name).
    public init(kind: Kind, value: String) throws(RevocationError) {
        switch kind {
        case .block:
            guard value.utf8.count == 2 * RevocationID.byteCount, let id = RevocationID(hex: value) else {
                throw RevocationError(.invalidTarget, "block revocation id must be 32 hex digits")
            }
            self = .block(id)
        case .issuerKey:
            guard value.utf8.count == 2 * KeyID.byteCount, let key = KeyID(hex: value) else {
                throw RevocationError(.invalidTarget, "issuer key id must be 16 hex digits")
            }
            self = .issuerKey(key)
        case .task:
            self = .task(value)
        case .agent:
            self = .agent(value)
        }
        try validate()
    }

    /// Checks that a task or agent name is non-empty and at most ``maximumNameByteCount`` bytes.
    ///
    /// - Throws: ``RevocationError/Code/invalidTarget`` naming the problem.
    public func validate() throws(RevocationError) {
        switch self {
        case .block, .issuerKey:
            return
        case .task(let name), .agent(let name):
            let count = name.utf8.count
            guard count > 0 else { throw RevocationError(.invalidTarget, "\(kind.rawValue) name is empty") }
            guard count <= Self.maximumNameByteCount else {
                throw RevocationError(
                    .invalidTarget,
                    "\(kind.rawValue) name is \(count) bytes, limit \(Self.maximumNameByteCount)"
                )
            }
        }
    }

    /// `kind:value`, e.g. `task:t-42`.
    public var description: String { "\(kind.rawValue):\(value)" }
}
