import Synchronization
public import WritCrypto

/// An outstanding join token as a store keeps it: the BLAKE2b digest of its secret (never the secret), the
/// identity it attests, and when it stops being accepted.
///
/// Field names are stable (`digest`, `identity`, `agent_class`, `supervisor`, `expires_at_ms`, `version`): SQL
/// adapters store the record as JSON or as columns of those names.
public struct JoinTokenRecord: Hashable, Sendable, Codable {
    /// Lowercase hex of the 32-byte BLAKE2b digest of the token's secret.
    public var digest: String
    /// The identity the token attests.
    public var identity: AgentIdentity
    /// The agent class name the token attests, if any.
    public var agentClass: String?
    /// The supervising agent, for sub-agents.
    public var supervisor: AgentIdentity?
    /// When the token stops being accepted.
    public var expiresAt: Timestamp
    /// The record's version in its store (1 once inserted); ``JoinTokenStore`` implementations set it.
    public var version: UInt64

    /// Creates a record.
    public init(
        digest: String,
        identity: AgentIdentity,
        agentClass: String?,
        supervisor: AgentIdentity?,
        expiresAt: Timestamp,
        version: UInt64 = 0
    ) {
        self.digest = digest
        self.identity = identity
        self.agentClass = agentClass
        self.supervisor = supervisor
        self.expiresAt = expiresAt
        self.version = version
    }

    enum CodingKeys: String, CodingKey {
        case digest
        case identity
        case agentClass = "agent_class"
        case supervisor
        case expiresAt = "expires_at_ms"
        case version
    }

    /// Decodes the stable field names.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        digest = try c.decode(String.self, forKey: .digest)
        identity = try c.decode(AgentIdentity.self, forKey: .identity)
        agentClass = try c.decodeIfPresent(String.self, forKey: .agentClass)
        supervisor = try c.decodeIfPresent(AgentIdentity.self, forKey: .supervisor)
        expiresAt = Timestamp(millisecondsSinceEpoch: try c.decode(Int64.self, forKey: .expiresAt))
        version = try c.decode(UInt64.self, forKey: .version)
    }

    /// Encodes the stable field names (times as milliseconds since the epoch).
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(digest, forKey: .digest)
        try c.encode(identity, forKey: .identity)
        try c.encodeIfPresent(agentClass, forKey: .agentClass)
        try c.encodeIfPresent(supervisor, forKey: .supervisor)
        try c.encode(expiresAt.millisecondsSinceEpoch, forKey: .expiresAt)
        try c.encode(version, forKey: .version)
    }
}

/// Where a ``JoinTokenAttestor`` keeps its outstanding join tokens.
///
/// The attestor's tokens are state a host must keep across restarts and share between authority replicas: a
/// token issued by one replica must be accepted by another, and accepted once only. WritIdentity sits below the
/// `Writ` module, so the attestor cannot name Writ's `AuthorityStore`; it names this small protocol instead,
/// and every `AuthorityStore` is a `JoinTokenStore` (Writ implements these requirements over the store's
/// versioned records, consuming with a compare-and-swap delete). Pass the authority's store to the attestor and
/// join tokens live beside the rest of the authority's state; ``InMemoryJoinTokenStore`` is the default for a
/// single process.
public protocol JoinTokenStore: Sendable {
    /// Adds an outstanding token.
    ///
    /// - Throws: when a token with the same digest is already outstanding, or the store fails.
    func insertJoinToken(_ record: JoinTokenRecord) async throws

    /// Removes and returns the outstanding token with this digest.
    ///
    /// Exactly one caller gets the record, however many race for it through however many handles on the same
    /// backing store; every other caller gets `nil`.
    func consumeJoinToken(digest: String) async throws -> JoinTokenRecord?

    /// Every outstanding token (expired ones included until pruned), ordered by digest.
    func outstandingJoinTokens() async throws -> [JoinTokenRecord]

    /// Removes every token expired at `time`.
    ///
    /// - Returns: how many were removed.
    @discardableResult
    func pruneJoinTokens(expiredAt time: Timestamp) async throws -> Int
}

/// A ``JoinTokenStore`` in one process's memory (the ``JoinTokenAttestor`` default).
public final class InMemoryJoinTokenStore: JoinTokenStore {
    private let records = Mutex<[String: JoinTokenRecord]>([:])

    /// Creates an empty store.
    public init() {}

    public func insertJoinToken(_ record: JoinTokenRecord) async throws {
        try records.withLock { (records: inout [String: JoinTokenRecord]) throws(IdentityError) in
            guard records[record.digest] == nil else {
                throw IdentityError(.attestationFailed, "a join token with this digest is already outstanding")
            }
            var stored = record
            stored.version = 1
            records[record.digest] = stored
        }
    }

    public func consumeJoinToken(digest: String) async throws -> JoinTokenRecord? {
        records.withLock { $0.removeValue(forKey: digest) }
    }

    public func outstandingJoinTokens() async throws -> [JoinTokenRecord] {
        records.withLock { $0.values.sorted { $0.digest < $1.digest } }
    }

    @discardableResult
    public func pruneJoinTokens(expiredAt time: Timestamp) async throws -> Int {
        records.withLock { records in
            let before = records.count
            records = records.filter { $0.value.expiresAt > time }
            return before - records.count
        }
    }
}
