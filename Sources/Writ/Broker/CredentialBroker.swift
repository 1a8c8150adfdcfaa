import WritAudit
public import WritCrypto

/// A compensating control for a legacy API that only takes a static key.
///
/// The broker keeps the static secret sealed (XChaCha20-Poly1305 under a host-supplied key) and never hands it
/// to an agent. An agent presents a Writ token and proof for the legacy service's audience; the broker
/// authorises it through its ``Gatekeeper`` (verification, revocation, policy, anomaly detection, audit), checks
/// the task's session scope and rate limit, then runs the host's call closure with the secret — which the
/// closure injects into the outgoing request. Revoking the task stops the broker at once.
public actor CredentialBroker {
    /// What one task may do through the broker.
    public struct SessionScope: Sendable, Hashable {
        /// The operations (actions) allowed.
        public var operations: Set<String>
        /// Calls allowed per ``window``.
        public var rateLimit: Int
        /// The rate-limit window.
        public var window: Duration

        /// Creates a scope.
        public init(operations: Set<String>, rateLimit: Int = 60, window: Duration = .seconds(60)) {
            self.operations = operations
            self.rateLimit = rateLimit
            self.window = window
        }
    }

    private struct Session {
        var scope: SessionScope
        var calls: [Timestamp] = []
    }

    /// The legacy service's name (the audience of its gatekeeper).
    public nonisolated let service: String
    /// The gatekeeper in front of the legacy service.
    public nonisolated let gatekeeper: Gatekeeper
    private let sealingKey: SecureBytes
    private let sealedSecret: [UInt8]
    private var sessions: [String: Session] = [:]

    /// Creates a broker and seals `secret` at once; only the sealed form is kept.
    ///
    /// - Parameters:
    ///   - gatekeeper: the gatekeeper for the legacy service's audience.
    ///   - secret: the static API key.
    ///   - sealingKey: a 32-byte key from the host's key management (`SecretBox.makeKey()` for tests).
    public init(gatekeeper: Gatekeeper, secret: SecureBytes, sealingKey: SecureBytes) throws {
        self.service = gatekeeper.configuration.audience
        self.gatekeeper = gatekeeper
        self.sealingKey = sealingKey
        sealedSecret = try SecretBox.seal(secret, key: sealingKey, associatedData: Array(service.utf8))
    }

    /// Creates a broker from a secret sealed earlier with the same key and service name.
    public init(gatekeeper: Gatekeeper, sealedSecret: [UInt8], sealingKey: SecureBytes) {
        self.service = gatekeeper.configuration.audience
        self.gatekeeper = gatekeeper
        self.sealingKey = sealingKey
        self.sealedSecret = sealedSecret
    }

    /// The secret as stored at rest (sealed), for persisting.
    public nonisolated var sealed: [UInt8] { sealedSecret }

    /// Allows a task to use the broker within `scope`.
    public func openSession(task: String, scope: SessionScope) {
        sessions[task] = Session(scope: scope)
    }

    /// Ends a task's session.
    public func closeSession(task: String) {
        sessions[task] = nil
    }

    /// Authorises the request and, if allowed, runs `call` with the static secret.
    ///
    /// - Parameters:
    ///   - request: the agent's token, proof, operation (action) and resource.
    ///   - call: the host's call to the legacy API; it receives the secret to inject and must not return it.
    /// - Returns: what `call` returns.
    /// - Throws: ``BrokerError`` when refused; errors thrown by `call` pass through.
    public func perform<Result: Sendable>(
        _ request: Gatekeeper.Request,
        call: @Sendable (SecureBytes) async throws -> Result
    ) async throws -> Result {
        let decision = await gatekeeper.authorize(request)
        let granted: GrantedRequest
        switch decision {
        case .allow(let g): granted = g
        case .deny(let denial): throw BrokerError(.denied, denial.description, decision: decision)
        case .reauthorize(let reason, _): throw BrokerError(.reauthorizationRequired, reason, decision: decision)
        }
        let now = gatekeeper.configuration.clock.now()
        guard let task = granted.taskID, var session = sessions[task] else {
            try await refuse(granted, request, now, "no broker session for task \(granted.taskID ?? "-")")
            throw BrokerError(.outsideSession, "task \(granted.taskID ?? "-") has no session on \(service)")
        }
        guard session.scope.operations.contains(request.action) else {
            try await refuse(granted, request, now, "operation \(request.action) outside the session scope")
            throw BrokerError(.outsideSession, "operation '\(request.action)' is outside task \(task)'s session")
        }
        let cutoff = now.advanced(by: .zero - session.scope.window)
        session.calls.removeAll { $0 <= cutoff }
        guard session.calls.count < session.scope.rateLimit else {
            sessions[task] = session
            try await refuse(granted, request, now, "rate limit \(session.scope.rateLimit) per window reached")
            throw BrokerError(.rateLimited, "task \(task) exceeded \(session.scope.rateLimit) calls per window")
        }
        session.calls.append(now)
        sessions[task] = session

        let secret: SecureBytes
        do {
            secret = try SecretBox.open(sealedSecret, key: sealingKey, associatedData: Array(service.utf8))
        } catch {
            throw BrokerError(.secretUnavailable, "the sealed secret for \(service) could not be opened")
        }
        return try await call(secret)
    }

    private func refuse(
        _ granted: GrantedRequest,
        _ request: Gatekeeper.Request,
        _ now: Timestamp,
        _ reason: String
    )
        async throws
    {
        _ = try? await gatekeeper.configuration.audit.record(
            AuditEvent(
                .denied,
                time: now,
                agent: granted.agent,
                task: granted.taskID,
                tokenID: granted.tokenID.description,
                audience: service,
                action: request.action,
                resource: request.resource,
                decision: .deny,
                reason: "broker: \(reason)",
                traceID: request.traceID
            )
        )
    }
}
