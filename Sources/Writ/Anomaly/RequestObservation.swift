public import WritCrypto

/// What a gatekeeper saw of one request, handed to every ``AnomalyDetector``.
///
/// It holds identifiers only — never the token, the proof or any secret.
public struct RequestObservation: Sendable, Hashable {
    /// How the gatekeeper decided the request.
    public enum Outcome: String, Sendable, Hashable {
        /// The request was allowed.
        case allowed
        /// The request was denied.
        case denied
        /// A re-authorisation checkpoint applied.
        case reauthorizationRequired = "reauthorization-required"
    }

    /// When the request was decided.
    public var time: Timestamp
    /// The service (audience) that saw it.
    public var service: String
    /// The agent presenting the token (root subject, or the last delegate), if the token could be read.
    public var agent: String?
    /// The token id, if the token could be read.
    public var tokenID: String?
    /// The revocation id of the presented token's last block (what an anomaly response revokes).
    public var blockID: RevocationID?
    /// The revocation id of the presented token's root block.
    public var rootBlockID: RevocationID?
    /// The key id of the key that held the token (verified by its proof of possession).
    public var holderKeyID: KeyID?
    /// The task the token was minted for.
    public var taskID: String?
    /// The intent declared in the token.
    public var intent: String?
    /// The action requested.
    public var action: String
    /// The resource requested.
    public var resource: String
    /// The decision.
    public var outcome: Outcome
    /// When the request was denied because its task or token had been revoked, the revocation reason
    /// (`completed`, `handed-off`, `timeout`, …).
    public var revocationReason: String?

    /// Creates an observation.
    public init(
        time: Timestamp,
        service: String,
        agent: String?,
        tokenID: String?,
        blockID: RevocationID? = nil,
        rootBlockID: RevocationID? = nil,
        holderKeyID: KeyID? = nil,
        taskID: String?,
        intent: String?,
        action: String,
        resource: String,
        outcome: Outcome,
        revocationReason: String? = nil
    ) {
        self.blockID = blockID
        self.rootBlockID = rootBlockID
        self.holderKeyID = holderKeyID
        self.time = time
        self.service = service
        self.agent = agent
        self.tokenID = tokenID
        self.taskID = taskID
        self.intent = intent
        self.action = action
        self.resource = resource
        self.outcome = outcome
        self.revocationReason = revocationReason
    }
}

/// An anomaly found by a detector: what it saw and whom it concerns.
public struct AnomalyReport: Sendable, Hashable, CustomStringConvertible {
    /// The detector that raised it (e.g. `denial-burst`).
    public var detector: String
    /// The agent concerned.
    public var agent: String?
    /// The token concerned.
    public var tokenID: String?
    /// The revocation id of the presented token's last block.
    public var blockID: RevocationID?
    /// The revocation id of the presented token's root block.
    public var rootBlockID: RevocationID?
    /// The key that held the token (proven by the request's proof of possession), when known.
    public var holderKeyID: KeyID?
    /// The task concerned.
    public var taskID: String?
    /// A one-line explanation with the numbers that crossed the threshold.
    public var detail: String
    /// When it was raised.
    public var time: Timestamp

    /// Creates a report.
    public init(
        detector: String,
        agent: String?,
        tokenID: String?,
        blockID: RevocationID? = nil,
        rootBlockID: RevocationID? = nil,
        holderKeyID: KeyID? = nil,
        taskID: String?,
        detail: String,
        time: Timestamp
    ) {
        self.blockID = blockID
        self.rootBlockID = rootBlockID
        self.holderKeyID = holderKeyID
        self.detector = detector
        self.agent = agent
        self.tokenID = tokenID
        self.taskID = taskID
        self.detail = detail
        self.time = time
    }

    /// The detector's name and detail.
    public var description: String { "\(detector): \(detail)" }
}

/// Watches requests as a gatekeeper decides them and reports what looks wrong.
///
/// Detectors run on the request path, so ``observe(_:)`` is synchronous and must not do I/O: keep bounded
/// in-memory state and return at once. Reporting and revoking happen elsewhere.
public protocol AnomalyDetector: Sendable {
    /// A short stable name for audit entries, e.g. `rate-spike`.
    var name: String { get }

    /// Records one observation and returns an anomaly if this observation crosses a threshold.
    func observe(_ observation: RequestObservation) -> AnomalyReport?
}

extension AnomalyReport {
    /// A report about `observation`'s token and agent, raised by `detector`.
    public init(_ detector: String, about observation: RequestObservation, detail: String) {
        self.init(
            detector: detector,
            agent: observation.agent,
            tokenID: observation.tokenID,
            blockID: observation.blockID,
            rootBlockID: observation.rootBlockID,
            holderKeyID: observation.holderKeyID,
            taskID: observation.taskID,
            detail: detail,
            time: observation.time
        )
    }
}
