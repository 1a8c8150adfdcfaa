public import WritCrypto

/// Why a ``CredentialBroker`` refused a call. Compares by ``code``.
public struct BrokerError: WritError {
    /// What was refused.
    ///
    /// New codes may be added: compare codes with `==` (a `switch` needs a `default`). ``description`` is
    /// the stable text that audit logs, JSON output and tests use.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String, Hashable, Sendable {
            case denied
            case reauthorizationRequired = "reauthorization-required"
            case outsideSession = "outside-session"
            case rateLimited = "rate-limited"
            case secretUnavailable = "secret-unavailable"
        }

        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// The gatekeeper denied the request (see ``BrokerError/decision``).
        public static let denied = Code(.denied)
        /// A re-authorisation checkpoint applies.
        public static let reauthorizationRequired = Code(.reauthorizationRequired)
        /// The task has no broker session, or the session does not allow this operation.
        public static let outsideSession = Code(.outsideSession)
        /// The task's session exceeded its rate limit.
        public static let rateLimited = Code(.rateLimited)
        /// The sealed secret could not be opened (wrong sealing key or tampered storage).
        public static let secretUnavailable = Code(.secretUnavailable)

        /// The code's stable text (`denied`, …).
        public var description: String { value.rawValue }
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

}
