/// Why a credential was revoked.
///
/// The raw values are the stable text form stored by durable stores and shown in audit records.
public enum RevocationReason: String, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    /// The task or step finished; its credentials are no longer needed.
    case completed
    /// The task or step ran past its time limit.
    case timeout
    /// An anomaly detector flagged the credential's use.
    case anomaly
    /// The work was handed off to another agent.
    case handedOff = "handed-off"
    /// An operator revoked it by hand.
    case manual
    /// The signing key that issued the credential is no longer trusted.
    case keyCompromised = "key-compromised"
    /// A refresh replaced the credential: one live token per task step.
    case superseded

    /// The stable text form, e.g. `handed-off`.
    public var description: String { rawValue }
}
