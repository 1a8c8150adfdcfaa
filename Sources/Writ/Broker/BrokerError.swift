/// Why a ``CredentialBroker`` refused a call. Compares by ``code``.
public struct BrokerError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What was refused.
    public enum Code: String, Hashable, Sendable {
        /// The gatekeeper denied the request (see ``BrokerError/decision``).
        case denied
        /// A re-authorisation checkpoint applies.
        case reauthorizationRequired = "reauthorization-required"
        /// The task has no broker session, or the session does not allow this operation.
        case outsideSession = "outside-session"
        /// The task's session exceeded its rate limit.
        case rateLimited = "rate-limited"
        /// The sealed secret could not be opened (wrong sealing key or tampered storage).
        case secretUnavailable = "secret-unavailable"
    }

    /// What was refused.
    public let code: Code
    /// The gatekeeper's decision, for denials and checkpoints.
    public let decision: GateDecision?
    /// A one-line explanation (never contains the secret or the token).
    public let context: String

    /// Creates an error.
    public init(_ code: Code, _ context: String, decision: GateDecision? = nil) {
        self.code = code
        self.context = context
        self.decision = decision
    }

    public var description: String { "\(code.rawValue): \(context)" }

    public static func == (lhs: BrokerError, rhs: BrokerError) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }
}
