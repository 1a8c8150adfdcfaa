public import WritCrypto

/// What a workload presents to prove what it is: evidence of some kind, plus its public key and a signature
/// by the matching private key (so the evidence cannot be bound to a key the presenter does not hold).
public struct AttestationEvidence: Hashable, Sendable, CustomStringConvertible {
    /// The kind of evidence, e.g. ``JoinTokenAttestor/evidenceKind``.
    public let kind: String
    /// The evidence itself (for a join token: the token's secret bytes). Never printed.
    public let payload: SecureBytes
    /// The key the workload wants bound to its identity.
    public let publicKey: Ed25519.PublicKey
    /// Signature by `publicKey`'s private key over `writ.attestation.v1\0` ‖ kind length (1 byte) ‖ kind ‖
    /// payload.
    public let signature: [UInt8]

    static let tag: [UInt8] = Array("writ.attestation.v1\0".utf8)

    /// Creates evidence, signing it with the workload's key.
    public init(kind: String, payload: SecureBytes, signingKey: Ed25519.PrivateKey) {
        self.kind = kind
        self.payload = payload
        publicKey = signingKey.publicKey
        signature = signingKey.signature(for: AttestationEvidence.message(kind: kind, payload: payload))
    }

    /// Wraps evidence received from a workload.
    public init(kind: String, payload: SecureBytes, publicKey: Ed25519.PublicKey, signature: [UInt8]) {
        self.kind = kind
        self.payload = payload
        self.publicKey = publicKey
        self.signature = signature
    }

    /// Whether ``signature`` is valid by ``publicKey`` (proof that the presenter holds the key).
    public var isSignedByPresenter: Bool {
        publicKey.isValidSignature(signature, for: AttestationEvidence.message(kind: kind, payload: payload))
    }

    static func message(kind: String, payload: SecureBytes) -> [UInt8] {
        var m = tag
        let k = Array(kind.utf8.prefix(255))
        m.append(UInt8(k.count))
        m.append(contentsOf: k)
        payload.withUnsafeBytes { m.append(contentsOf: $0) }
        return m
    }

    public var description: String { "AttestationEvidence(\(kind), key \(publicKey.keyID), payload <redacted>)" }

    public static func == (lhs: AttestationEvidence, rhs: AttestationEvidence) -> Bool {
        lhs.kind == rhs.kind && lhs.payload == rhs.payload && lhs.publicKey == rhs.publicKey
            && lhs.signature == rhs.signature
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(kind)
        hasher.combine(publicKey)
        hasher.combine(signature)
    }
}

/// What an attestor established about a workload.
public struct AttestedWorkload: Hashable, Sendable {
    /// The workload's identity.
    public let identity: AgentIdentity
    /// The workload's agent class name, if the attestor knows it.
    public let agentClass: String?
    /// The supervising agent, for sub-agents.
    public let supervisor: AgentIdentity?
    /// The key the workload proved it holds.
    public let publicKey: Ed25519.PublicKey

    /// Creates a result.
    public init(identity: AgentIdentity, agentClass: String?, supervisor: AgentIdentity?, publicKey: Ed25519.PublicKey)
    {
        self.identity = identity
        self.agentClass = agentClass
        self.supervisor = supervisor
        self.publicKey = publicKey
    }
}

/// The means by which a host proves what a workload is (as SPIRE's node and workload attestors).
///
/// An authority calls ``attest(_:)`` with the evidence a workload presents and, when it succeeds, issues an
/// ``IdentityDocument`` binding the attested identity to the workload's key.
public protocol Attestor: Sendable {
    /// The evidence kind this attestor understands.
    var evidenceKind: String { get }

    /// Checks `evidence` and says which workload presented it.
    ///
    /// - Throws: ``IdentityError/Code/attestationFailed`` (or ``IdentityError/Code/expired``) when the evidence
    ///   is not accepted.
    func attest(_ evidence: AttestationEvidence) async throws(IdentityError) -> AttestedWorkload
}
