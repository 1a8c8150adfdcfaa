public import WritCrypto

/// One thing that happened to a credential, as recorded in an audit log.
///
/// Every field except ``kind`` is optional; record what is known. ``time`` and ``service`` are stamped by the
/// ``AuditLog`` that records the event (its clock and its service name). An event never carries a token, key or
/// secret: identify tokens by ``tokenID`` and ``revocationID``, and put values an investigator may need to
/// recognise later in ``sensitiveAttributes``, which the log stores only as keyed digests.
public struct AuditEvent: Sendable, Equatable {
    /// What happened.
    public enum Kind: String, Sendable, Hashable, Codable, CaseIterable {
        /// A token was minted for a task step.
        case issued
        /// A holder attenuated its token for a sub-agent.
        case delegated
        /// A token was refreshed.
        case refreshed
        /// A token was presented and the request was allowed.
        case used
        /// A token was presented and the request was denied.
        case denied
        /// A request hit a checkpoint: the agent must be re-authorised before it may proceed.
        case reauthorizationRequired = "reauthorization-required"
        /// A token, task, agent or key was revoked.
        case revoked
        /// An anomaly detector fired.
        case anomaly
        /// Work (and its credentials) passed from one agent to another.
        case handedOff = "handed-off"
        /// A task was opened.
        case taskOpened = "task-opened"
        /// A task was closed.
        case taskClosed = "task-closed"

        /// The kind's stable number in the binary entry format.
        var code: UInt8 {
            switch self {
            case .issued: 1
            case .delegated: 2
            case .refreshed: 3
            case .used: 4
            case .denied: 5
            case .reauthorizationRequired: 6
            case .revoked: 7
            case .anomaly: 8
            case .handedOff: 9
            case .taskOpened: 10
            case .taskClosed: 11
            }
        }

        init?(code: UInt8) {
            guard let kind = Kind.allCases.first(where: { $0.code == code }) else { return nil }
            self = kind
        }
    }

    /// The outcome of an authorisation decision.
    public enum Decision: String, Sendable, Hashable, Codable, CaseIterable {
        /// The request was allowed.
        case allow
        /// The request was denied.
        case deny
        /// The request needs re-authorisation first.
        case reauthorize

        var code: UInt8 {
            switch self {
            case .allow: 1
            case .deny: 2
            case .reauthorize: 3
            }
        }

        init?(code: UInt8) {
            guard let decision = Decision.allCases.first(where: { $0.code == code }) else { return nil }
            self = decision
        }
    }

    /// What happened.
    public var kind: Kind
    /// When it happened; stamped from the log's clock when `nil` at record time.
    public var time: Timestamp?
    /// The service whose log holds the event (the log's origin); stamped by the log.
    public var service: String?
    /// The agent's identity (a SPIFFE-style URI).
    public var agent: String?
    /// The task the event belongs to.
    public var task: String?
    /// The step within the task.
    public var step: String?
    /// The token's identifier (never the token itself).
    public var tokenID: String?
    /// The token this one was delegated from, for linking a delegation chain.
    public var parentTokenID: String?
    /// The revocation id of the token block concerned.
    public var revocationID: RevocationID?
    /// The audience (service) the token was for.
    public var audience: String?
    /// The action requested or granted.
    public var action: String?
    /// The resource acted on.
    public var resource: String?
    /// The decision, for `used`, `denied` and `reauthorization-required` events.
    public var decision: Decision?
    /// Why: the policies or checks that determined the outcome, the revocation cause, the anomaly.
    public var reason: String?
    /// A trace id that links the event to the request that caused it.
    public var traceID: String?
    /// Free, non-secret attributes.
    public var attributes: [String: String]
    /// Values stored only as keyed digests (see ``SensitiveValue`` and ``AuditSalt``).
    public var sensitiveAttributes: [String: SensitiveValue]

    /// Creates an event.
    public init(
        _ kind: Kind,
        time: Timestamp? = nil,
        agent: String? = nil,
        task: String? = nil,
        step: String? = nil,
        tokenID: String? = nil,
        parentTokenID: String? = nil,
        revocationID: RevocationID? = nil,
        audience: String? = nil,
        action: String? = nil,
        resource: String? = nil,
        decision: Decision? = nil,
        reason: String? = nil,
        traceID: String? = nil,
        attributes: [String: String] = [:],
        sensitiveAttributes: [String: SensitiveValue] = [:]
    ) {
        self.kind = kind
        self.time = time
        self.agent = agent
        self.task = task
        self.step = step
        self.tokenID = tokenID
        self.parentTokenID = parentTokenID
        self.revocationID = revocationID
        self.audience = audience
        self.action = action
        self.resource = resource
        self.decision = decision
        self.reason = reason
        self.traceID = traceID
        self.attributes = attributes
        self.sensitiveAttributes = sensitiveAttributes
    }
}
