public import WritAudit
public import WritCrypto
public import WritIdentity
public import WritPolicy
public import WritRevocation
public import WritTokens

/// The one call a resource service makes per request: decode the token, verify its chain, check the proof of
/// possession and replay, check revocation, evaluate the service's policies with the agent's intent and token
/// facts, feed the anomaly detectors, write the audit entry, and return a decision.
///
/// A gatekeeper is immutable after creation and safe to call from many concurrent requests.
public final class Gatekeeper: Sendable {
    /// How a service's gatekeeper is set up (once per service).
    public struct Configuration: Sendable {
        /// The service's audience id; tokens must name it.
        public var audience: String
        /// The issuer keys the service trusts.
        public var trustBundle: TrustBundle
        /// The agent classes the service knows (delegation caps).
        public var agentClasses: [AgentClass]
        /// The service's policies.
        public var policies: PolicySet
        /// Entities the policies refer to (resource groups, actions, classes).
        public var entities: PolicyEntities
        /// The revocation snapshot this service follows.
        public var revocation: RevocationSnapshot
        /// Where proof nonces are remembered in this process (checked synchronously, with the proof).
        public var replayCache: any ReplayCache
        /// Where the replicas of this audience remember proof nonces together (`nil`: this process only).
        ///
        /// Consulted after every synchronous check has passed, so only validly signed, fresh, unrevoked proofs
        /// are recorded; a proof replayed to another replica is then denied as ``GateDenial/Code/replayed``, and a
        /// store that cannot answer denies with ``GateDenial/Code/nonceStoreUnavailable`` (fail closed).
        public var sharedNonces: (any NonceStore)?
        /// The service's audit log.
        public var audit: any AuditSink
        /// Anomaly detectors fed with every decision.
        public var detectors: [any AnomalyDetector]
        /// The service's clock.
        public var clock: any WallClock
        /// Clock skew tolerated, and how old a proof may be.
        public var verification: VerificationOptions
        /// When true (the default), a request is never allowed unless its audit entry was written.
        public var auditFailClosed: Bool
        /// How many verified token chains to remember (0 disables the cache).
        public var verifiedTokenCacheCapacity: Int

        /// Creates a configuration.
        public init(
            audience: String,
            trustBundle: TrustBundle,
            agentClasses: [AgentClass],
            policies: PolicySet,
            entities: PolicyEntities = PolicyEntities(),
            revocation: RevocationSnapshot,
            replayCache: any ReplayCache = InMemoryReplayCache(),
            sharedNonces: (any NonceStore)? = nil,
            audit: any AuditSink,
            detectors: [any AnomalyDetector] = AnomalyDetectors.defaults(),
            clock: any WallClock = SystemClock(),
            verification: VerificationOptions = VerificationOptions(),
            auditFailClosed: Bool = true,
            verifiedTokenCacheCapacity: Int = 4096
        ) {
            self.audience = audience
            self.trustBundle = trustBundle
            self.agentClasses = agentClasses
            self.policies = policies
            self.entities = entities
            self.revocation = revocation
            self.replayCache = replayCache
            self.sharedNonces = sharedNonces
            self.audit = audit
            self.detectors = detectors
            self.clock = clock
            self.verification = verification
            self.auditFailClosed = auditFailClosed
            self.verifiedTokenCacheCapacity = verifiedTokenCacheCapacity
        }
    }

    /// One request as the service received it. Its description never shows the token or the proof.
    public struct Request: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
        /// The token text (`writ1_…`).
        public var token: String
        /// The proof-of-possession text (`writp1_…`).
        public var proof: String
        /// The action requested.
        public var action: String
        /// The resource requested.
        public var resource: String
        /// Approvals granted for re-authorisation checkpoints (policy fact `context.approvals`).
        public var approvals: Set<String>
        /// Request attributes: checked by the token's request-attribute caveats and given to policies.
        public var attributes: [String: String]
        /// Risk signals the service already knows (policy fact `context.risk`).
        public var risk: AgentRequest.RiskSignals
        /// A trace id to correlate audit entries across services.
        public var traceID: String?
        /// The digest of the transport request the proof must be bound to (`TokenRequest.binding`), computed by
        /// the service from what it received (e.g. `WritHTTP`'s request digest), or `nil` for an unbound proof.
        public var binding: [UInt8]?

        /// Creates a request.
        public init(
            token: String,
            proof: String,
            action: String,
            resource: String,
            approvals: Set<String> = [],
            attributes: [String: String] = [:],
            risk: AgentRequest.RiskSignals = .none,
            traceID: String? = nil,
            binding: [UInt8]? = nil
        ) {
            self.binding = binding
            self.token = token
            self.proof = proof
            self.action = action
            self.resource = resource
            self.approvals = approvals
            self.attributes = attributes
            self.risk = risk
            self.traceID = traceID
        }

        /// The action and resource only; the token and proof are redacted.
        public var description: String { "Gatekeeper.Request(\(action) \(resource), token: <redacted>)" }
        /// Same as ``description``.
        public var debugDescription: String { description }
    }

    /// The configuration.
    public let configuration: Configuration
    /// The revocation answer used for every request (the snapshot plus a local anomaly quarantine).
    public let revocationChecker: SnapshotRevocationChecker
    /// Anomalies raised by this service's detectors, for the host to forward to the authority.
    ///
    /// The gatekeeper quarantines the token and agent locally at once; forwarding lets the authority revoke
    /// them everywhere. Buffered (newest 1,000 kept); never blocks a request.
    public let anomalies: AsyncStream<AnomalyReport>

    private let verifier: TokenVerifier
    private let cache: VerifiedTokenCache
    private let anomalySink: AsyncStream<AnomalyReport>.Continuation

    /// Creates a gatekeeper.
    public init(_ configuration: Configuration) {
        self.configuration = configuration
        verifier = TokenVerifier(
            trustBundle: configuration.trustBundle,
            agentClasses: configuration.agentClasses,
            options: configuration.verification
        )
        cache = VerifiedTokenCache(capacity: configuration.verifiedTokenCacheCapacity)
        revocationChecker = SnapshotRevocationChecker(snapshot: configuration.revocation, clock: configuration.clock)
        (anomalies, anomalySink) = AsyncStream.makeStream(
            of: AnomalyReport.self,
            bufferingPolicy: .bufferingNewest(1000)
        )
    }

    deinit { anomalySink.finish() }

    /// Decides one request. Never throws: every failure is a typed denial.
    public func authorize(_ request: Request) async -> GateDecision {
        let now = configuration.clock.now()
        var outcome = evaluate(request, now: now)
        if let nonces = configuration.sharedNonces, let proof = outcome.acceptedProof, !outcome.isDenied {
            do {
                let expiry = proof.nonceExpiry(options: configuration.verification, now: now)
                if try await !nonces.insertIfAbsent(proof.nonce, expiresAt: expiry) {
                    outcome.decision = .deny(
                        denial(.replayed, "proof nonce \(proof.nonce) was already used at another replica")
                    )
                }
            } catch {
                outcome.decision = .deny(
                    denial(.nonceStoreUnavailable, "the shared nonce store cannot answer: \(error)")
                )
            }
        }
        return await conclude(outcome, request: request, now: now)
    }

    // MARK: Deciding

    private struct Outcome {
        var decision: GateDecision
        var token: VerifiedToken?
        var revocationReason: String?
        /// Whether the request is proven to come from the token's holder (its proof of possession verified), so
        /// detectors may attribute it to the token's block and holder key. Requests that fail before or at the
        /// proof — a leaked token with junk proofs — must never get the agent quarantined or revoked.
        var attributable = false
        /// The proof, once every synchronous check of it passed (its nonce goes to the shared store).
        var acceptedProof: ProofOfPossession?

        var isDenied: Bool {
            if case .deny = decision { return true }
            return false
        }
    }

    private func evaluate(_ request: Request, now: Timestamp) -> Outcome {
        guard !request.action.isEmpty, request.action.utf8.count <= TokenLimits.maximumActionLength,
            !request.resource.isEmpty, request.resource.utf8.count <= TokenLimits.maximumResourceLength
        else {
            return Outcome(
                decision: .deny(denial(.malformedRequest, "action or resource is empty or longer than the cap"))
            )
        }
        guard
            request.token.utf8.count <= TokenFormat.textPrefix.utf8.count + (TokenLimits.maximumTokenBytes * 4 + 2) / 3
        else {
            return Outcome(decision: .deny(denial(.malformedToken, "token text is longer than the cap")))
        }
        guard request.token.hasPrefix(TokenFormat.textPrefix),
            let bytes = Self.decodeTokenBody(request.token)
        else {
            return Outcome(decision: .deny(denial(.malformedToken, "token text is not a writ1_ token")))
        }
        let verified: VerifiedToken
        let digest = TokenDigest.of(bytes)
        if let cached = cache.lookup(digest) {
            verified = cached
        } else {
            do {
                verified = try verifier.verifyChain(bytes: bytes)
            } catch {
                return Outcome(decision: .deny(denial(.tokenRejected, error.description, tokenError: error.code)))
            }
            cache.insert(verified)
        }
        let proof: ProofOfPossession
        do {
            proof = try ProofOfPossession(text: request.proof)
        } catch {
            return Outcome(decision: .deny(denial(.malformedProof, error.description)), token: verified)
        }
        let tokenRequest = TokenRequest(
            audience: configuration.audience,
            action: request.action,
            resource: request.resource,
            attributes: request.attributes,
            binding: request.binding
        )
        do {
            try verified.authorize(
                tokenRequest,
                proof: proof,
                at: now,
                options: configuration.verification,
                replayCache: configuration.replayCache,
                revocation: revocationChecker
            )
        } catch {
            var outcome = Outcome(decision: .deny(gateDenial(for: error)), token: verified)
            switch error.code {
            case .revoked, .revocationUnavailable, .replayedNonce:
                // These are checked after the proof: the holder made this request.
                outcome.attributable = true
            default:
                // Failed before or at the proof: attribute only if the proof itself holds (a holder probing
                // beyond its token), never for junk proofs.
                outcome.attributable =
                    (try? verified.checkProof(proof, for: tokenRequest, at: now, options: configuration.verification))
                    != nil
            }
            if error.code == .revoked, case .revoked(let entry) = revocationChecker.lookup(verified.revocationFacts) {
                outcome.revocationReason = entry.reason.rawValue
            }
            return outcome
        }
        var outcome = Outcome(decision: decide(verified, request: request, now: now), token: verified)
        outcome.attributable = true
        outcome.acceptedProof = proof
        return outcome
    }

    /// Evaluates the policies for the acting agent and, for a delegated token, also for the token's subject: a
    /// delegator cannot escape a principal- or class-scoped `forbid` (or a checkpoint) by naming another
    /// principal or class in a delegation block. A deny from either wins; then a checkpoint from either.
    private func decide(_ token: VerifiedToken, request: Request, now: Timestamp) -> GateDecision {
        var decisions = [
            configuration.policies.evaluate(
                policyRequest(for: token, request: request, now: now, asSubject: false),
                entities: configuration.entities
            )
        ]
        if !token.delegates.isEmpty || token.delegateClass != nil {
            decisions.append(
                configuration.policies.evaluate(
                    policyRequest(for: token, request: request, now: now, asSubject: true),
                    entities: configuration.entities
                )
            )
        }
        for decision in decisions {
            if case .deny(let reasons) = decision.agentDecision {
                let message =
                    reasons.isEmpty
                    ? "no policy permits \(request.action) on \(request.resource)"
                    : "forbidden by \(reasons.map(\.rawValue).joined(separator: ", "))"
                return .deny(denial(.policy, message, policies: reasons))
            }
        }
        for decision in decisions {
            if case .reauthorize(let reason, let policy) = decision.agentDecision {
                return .reauthorize(reason: reason, policy: policy)
            }
        }
        return .allow(granted(token, policies: decisions[0].reasons, auditIndex: nil))
    }

    private func policyRequest(
        for token: VerifiedToken,
        request: Request,
        now: Timestamp,
        asSubject: Bool
    )
        -> AgentRequest
    {
        let delegated = !asSubject && !token.delegates.isEmpty
        var extra: [(String, CedarValue)] = request.attributes.sorted { $0.key < $1.key }.map {
            ($0.key, .string($0.value))
        }
        extra.append(("subject", .string(token.subject.description)))
        return AgentRequest(
            agentID: (asSubject ? token.subject : token.delegates.last ?? token.subject).description,
            agentClass: (asSubject ? token.agentClass : token.delegateClass ?? token.agentClass).name,
            supervisor: delegated ? EntityUID(type: AgentRequest.agentType, id: token.subject.description) : nil,
            action: EntityUID(type: "Action", id: request.action),
            resource: EntityUID(type: "Resource", id: request.resource),
            intent: token.intent ?? "",
            task: token.taskID ?? "",
            step: token.step.map(String.init) ?? "",
            token: AgentRequest.TokenFacts(
                remainingSeconds: max(0, now.duration(to: token.expiresAt).components.seconds),
                delegationDepth: Int64(token.delegationDepth),
                audience: configuration.audience
            ),
            risk: request.risk,
            approvals: request.approvals,
            extra: CedarRecord(extra)
        )
    }

    // MARK: Recording

    private func conclude(_ outcome: Outcome, request: Request, now: Timestamp) async -> GateDecision {
        let token = outcome.token
        let agent = token.map { ($0.delegates.last ?? $0.subject).description }
        let blockID = token?.revocationIDs.last
        let tokenID = token?.tokenID.description
        // Only requests proven to come from the holder are attributed to its block, key and agent.
        let attributed = outcome.attributable ? token : nil
        let observation = RequestObservation(
            time: now,
            service: configuration.audience,
            agent: attributed == nil ? nil : agent,
            tokenID: tokenID,
            blockID: attributed?.revocationIDs.last,
            rootBlockID: attributed?.revocationIDs.first,
            holderKeyID: attributed?.holder.keyID,
            taskID: token?.taskID,
            intent: token?.intent,
            action: request.action,
            resource: request.resource,
            outcome: observationOutcome(outcome.decision),
            revocationReason: outcome.revocationReason
        )
        var reports: [AnomalyReport] = []
        // A refusal for this service's own stale revocation data says nothing about the agent: a client
        // retrying through a partition must not be counted as a denial burst and revoked once the feed is back.
        var ownFault = false
        if case .deny(let denial) = outcome.decision, denial.code == .revocationUnavailable { ownFault = true }
        for detector in configuration.detectors where !ownFault {
            if let report = detector.observe(observation) { reports.append(report) }
        }
        // Quarantine at once, before any await, so concurrent requests with the same block are refused too.
        // Only the block is quarantined: agent names in delegation blocks are the delegator's words.
        for report in reports where outcome.revocationReason == nil {
            if let block = report.blockID { revocationChecker.quarantine(block: block) }
        }

        var event = AuditEvent(
            auditKind(outcome.decision),
            time: now,
            agent: agent,
            task: token?.taskID,
            step: token?.step.map(String.init),
            tokenID: tokenID,
            revocationID: blockID,
            audience: configuration.audience,
            action: Self.clipped(request.action),
            resource: Self.clipped(request.resource),
            decision: auditDecision(outcome.decision),
            reason: Self.clipped(auditReason(outcome.decision)),
            traceID: request.traceID.map(Self.clipped)
        )
        if let token {
            // Kept small: this is on every request. The token's expiry and scope are in the authority's
            // `issued` entry for the same token id.
            event.attributes["class"] = (token.delegateClass ?? token.agentClass).name
            if token.delegationDepth > 0 {
                event.attributes["depth"] = String(token.delegationDepth)
                event.attributes["subject"] = token.subject.description
            }
        }
        var decision = outcome.decision
        do {
            let index = try await configuration.audit.record(event)
            if case .allow(let granted) = decision {
                decision = .allow(self.granted(granted, auditIndex: index))
            }
        } catch {
            if configuration.auditFailClosed, decision.isAllowed {
                decision = .deny(denial(.auditUnavailable, "the audit log could not record the decision: \(error)"))
            }
        }

        for report in reports {
            _ = try? await configuration.audit.record(
                AuditEvent(
                    .anomaly,
                    time: now,
                    agent: report.agent,
                    task: report.taskID,
                    tokenID: report.tokenID,
                    revocationID: report.blockID,
                    audience: configuration.audience,
                    reason: report.detail,
                    traceID: request.traceID,
                    attributes: ["detector": report.detector]
                )
            )
            anomalySink.yield(report)
        }
        return decision
    }

    // MARK: Helpers

    /// The binary token from its text form, decoding the UTF-8 in place after the prefix.
    private static func decodeTokenBody(_ text: String) -> [UInt8]? {
        var text = text
        let prefix = TokenFormat.textPrefix.utf8.count
        return text.withUTF8 { utf8 in
            Base64URL.decode(utf8: UnsafeBufferPointer(rebasing: utf8[prefix...]))
        }
    }

    /// Request-supplied text as recorded in the audit log: at most 1,024 bytes, so an oversized field cannot
    /// make the entry too large to record (and the decision go unaudited).
    private static func clipped(_ text: String) -> String {
        guard text.utf8.count > 1024 else { return text }
        var end = text.utf8.index(text.utf8.startIndex, offsetBy: 1000)
        while !text.unicodeScalars.indices.contains(end), end > text.startIndex { end = text.utf8.index(before: end) }
        return String(text[..<end]) + "…(\(text.utf8.count) bytes)"
    }

    private func granted(_ token: VerifiedToken, policies: [PolicyID], auditIndex: UInt64?) -> GrantedRequest {
        GrantedRequest(
            agent: (token.delegates.last ?? token.subject).description,
            subject: token.subject.description,
            tokenID: token.tokenID,
            taskID: token.taskID,
            intent: token.intent,
            policies: policies,
            auditIndex: auditIndex
        )
    }

    private func granted(_ granted: GrantedRequest, auditIndex: UInt64) -> GrantedRequest {
        GrantedRequest(
            agent: granted.agent,
            subject: granted.subject,
            tokenID: granted.tokenID,
            taskID: granted.taskID,
            intent: granted.intent,
            policies: granted.policies,
            auditIndex: auditIndex
        )
    }

    private func denial(
        _ code: GateDenial.Code,
        _ message: String,
        policies: [PolicyID] = [],
        tokenError: TokenError.Code? = nil
    ) -> GateDenial {
        GateDenial(code: code, tokenError: tokenError, policies: policies, message: message)
    }

    private func gateDenial(for error: TokenError) -> GateDenial {
        switch error.code {
        case .revoked: denial(.revoked, error.description, tokenError: error.code)
        case .revocationUnavailable: denial(.revocationUnavailable, error.description, tokenError: error.code)
        case .replayedNonce: denial(.replayed, error.description, tokenError: error.code)
        default: denial(.tokenRejected, error.description, tokenError: error.code)
        }
    }

    private func observationOutcome(_ decision: GateDecision) -> RequestObservation.Outcome {
        switch decision {
        case .allow: .allowed
        case .deny: .denied
        case .reauthorize: .reauthorizationRequired
        }
    }

    private func auditKind(_ decision: GateDecision) -> AuditEvent.Kind {
        switch decision {
        case .allow: .used
        case .deny: .denied
        case .reauthorize: .reauthorizationRequired
        }
    }

    private func auditDecision(_ decision: GateDecision) -> AuditEvent.Decision {
        switch decision {
        case .allow: .allow
        case .deny: .deny
        case .reauthorize: .reauthorize
        }
    }

    private func auditReason(_ decision: GateDecision) -> String {
        switch decision {
        case .allow(let granted): "permitted by \(granted.policies.map(\.rawValue).joined(separator: ", "))"
        case .deny(let denial): denial.description
        case .reauthorize(let reason, let policy): "checkpoint \(policy): \(reason)"
        }
    }
}
