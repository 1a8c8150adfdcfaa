/// An error raised by ``CredentialAuthority`` or ``CredentialProvider``.
///
/// Errors compare by ``code``; ``context`` names what was refused and why.
public struct AuthorityError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What was refused.
    public enum Code: String, Hashable, Sendable {
        /// Attestation evidence was rejected.
        case attestationFailed = "attestation-failed"
        /// The agent is not registered with the authority.
        case unknownAgent = "unknown-agent"
        /// The identity is already registered with another key, or was revoked.
        case alreadyRegistered = "already-registered"
        /// The agent class is not configured.
        case unknownAgentClass = "unknown-agent-class"
        /// The task does not exist.
        case unknownTask = "unknown-task"
        /// The task step does not exist or has no live token.
        case unknownStep = "unknown-step"
        /// The step already has a live token for a different grant; complete the step first.
        case stepConflict = "step-conflict"
        /// The task is no longer open (completed, handed off, timed out or revoked).
        case taskClosed = "task-closed"
        /// The task's deadline has passed.
        case deadlinePassed = "deadline-passed"
        /// No entitlement of the agent's class covers the requested grant.
        case notEntitled = "not-entitled"
        /// The class's refresh limit for this step is used up.
        case refreshLimitReached = "refresh-limit-reached"
        /// The agent or class may not delegate, or the delegate is not a distinct registered agent.
        case delegationRefused = "delegation-refused"
        /// The provider has no token and could not obtain one; it fails closed.
        case credentialUnavailable = "credential-unavailable"
        /// Minting or delegating the token failed.
        case tokenFailed = "token-failed"
        /// Recording the action in the audit log or revocation store failed.
        case recordFailed = "record-failed"
        /// The authority store failed (unreachable, corrupt), so nothing was changed.
        case storeFailed = "store-failed"
        /// Another replica kept changing the same record: every compare-and-swap attempt conflicted.
        case storeConflict = "store-conflict"
        /// The entitlement policy could not say what the agent's class may be granted.
        case entitlementsUnavailable = "entitlements-unavailable"
    }

    /// What was refused.
    public let code: Code
    /// A human-readable explanation.
    public let context: String

    /// Creates an error.
    public init(_ code: Code, _ context: String) {
        self.code = code
        self.context = context
    }

    public var description: String { "\(code.rawValue): \(context)" }

    public static func == (lhs: AuthorityError, rhs: AuthorityError) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }
}
