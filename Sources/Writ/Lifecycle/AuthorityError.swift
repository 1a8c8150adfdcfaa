public import WritCrypto

/// An error raised by ``CredentialAuthority`` or ``CredentialProvider``.
///
/// Errors compare by ``code``; ``context`` names what was refused and why.
public struct AuthorityError: WritError {
    /// What was refused.
    ///
    /// New codes may be added: compare codes with `==` (a `switch` needs a `default`). ``description`` is
    /// the stable text that audit logs, JSON output and tests use.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String, Hashable, Sendable {
            case attestationFailed = "attestation-failed"
            case unknownAgent = "unknown-agent"
            case alreadyRegistered = "already-registered"
            case unknownAgentClass = "unknown-agent-class"
            case unknownTask = "unknown-task"
            case unknownStep = "unknown-step"
            case stepConflict = "step-conflict"
            case taskClosed = "task-closed"
            case deadlinePassed = "deadline-passed"
            case notEntitled = "not-entitled"
            case refreshLimitReached = "refresh-limit-reached"
            case delegationRefused = "delegation-refused"
            case credentialUnavailable = "credential-unavailable"
            case tokenFailed = "token-failed"
            case recordFailed = "record-failed"
            case storeFailed = "store-failed"
            case storeConflict = "store-conflict"
            case entitlementsUnavailable = "entitlements-unavailable"
        }

        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// Attestation evidence was rejected.
        public static let attestationFailed = Code(.attestationFailed)
        /// The agent is not registered with the authority.
        public static let unknownAgent = Code(.unknownAgent)
        /// The identity is already registered with another key, or was revoked.
        public static let alreadyRegistered = Code(.alreadyRegistered)
        /// The agent class is not configured.
        public static let unknownAgentClass = Code(.unknownAgentClass)
        /// The task does not exist.
        public static let unknownTask = Code(.unknownTask)
        /// The task step does not exist or has no live token.
        public static let unknownStep = Code(.unknownStep)
        /// The step already has a live token for a different grant; complete the step first.
        public static let stepConflict = Code(.stepConflict)
        /// The task is no longer open (completed, handed off, timed out or revoked).
        public static let taskClosed = Code(.taskClosed)
        /// The task's deadline has passed.
        public static let deadlinePassed = Code(.deadlinePassed)
        /// No entitlement of the agent's class covers the requested grant.
        public static let notEntitled = Code(.notEntitled)
        /// The class's refresh limit for this step is used up.
        public static let refreshLimitReached = Code(.refreshLimitReached)
        /// The agent or class may not delegate, or the delegate is not a distinct registered agent.
        public static let delegationRefused = Code(.delegationRefused)
        /// The provider has no token and could not obtain one; it fails closed.
        public static let credentialUnavailable = Code(.credentialUnavailable)
        /// Minting or delegating the token failed.
        public static let tokenFailed = Code(.tokenFailed)
        /// Recording the action in the audit log or revocation store failed.
        public static let recordFailed = Code(.recordFailed)
        /// The authority store failed (unreachable, corrupt), so nothing was changed.
        public static let storeFailed = Code(.storeFailed)
        /// Another replica kept changing the same record: every compare-and-swap attempt conflicted.
        public static let storeConflict = Code(.storeConflict)
        /// The entitlement policy could not say what the agent's class may be granted.
        public static let entitlementsUnavailable = Code(.entitlementsUnavailable)

        /// The code's stable text (`attestation-failed`, …).
        public var description: String { value.rawValue }
    }

    /// What was refused.
    public let code: Code
    /// A human-readable explanation.
    public let context: String

    /// The store's, sink's or system's own error behind this one, when there is one.
    public let underlying: (any Error)?

    /// Creates an error.
    ///
    /// - Parameters:
    ///   - code: What went wrong.
    ///   - context: What failed, in words (never secret bytes).
    ///   - underlying: The error behind it (a store, sink or system error), kept rather than flattened.
    public init(_ code: Code, _ context: String, underlying: (any Error)? = nil) {
        self.code = code
        self.context = context
        self.underlying = underlying
    }

}
