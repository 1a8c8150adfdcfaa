public import WritCrypto
public import WritIdentity
public import WritTokens

/// The agent side: holds the agent's key, obtains the token for the current task step, signs a proof of
/// possession for each call, refreshes before expiry, and fails closed.
///
/// Refresh is proactive (at a configurable fraction of the token's lifetime, with jitter), single-flight (a
/// hundred concurrent calls cause one refresh), retried with exponential backoff on transient errors, and
/// stops at once on refusals (task closed, refresh limit, deadline). Once the token has expired and no fresh
/// one could be had, every call throws ``AuthorityError/Code/credentialUnavailable``.
///
/// Host code only ever sees ``PresentedCredential`` values for specific calls; the private key never leaves
/// the provider.
public actor CredentialProvider {
    /// When and how to refresh.
    public struct RefreshPolicy: Sendable, Hashable {
        /// Refresh once this fraction of the token's lifetime has passed (0.5…0.95; default 0.75).
        public var fraction: Double
        /// Randomly bring the refresh point forward by up to this fraction of the lifetime (default 0.05), so
        /// many agents do not refresh in step.
        public var jitter: Double
        /// Attempts per refresh (default 3).
        public var attempts: Int
        /// Delay before the second attempt; doubled for each further attempt (default 100 ms).
        public var backoff: Duration

        /// Creates a policy.
        public init(
            fraction: Double = 0.75,
            jitter: Double = 0.05,
            attempts: Int = 3,
            backoff: Duration = .milliseconds(100)
        ) {
            self.fraction = min(max(fraction, 0.5), 0.95)
            self.jitter = min(max(jitter, 0), 0.25)
            self.attempts = max(1, attempts)
            self.backoff = backoff
        }
    }

    private struct Current {
        var token: CapabilityToken
        var taskID: String?
        var step: String?
        var expiresAt: Timestamp
        var refreshAt: Timestamp?
    }

    /// The agent's identity.
    public nonisolated let identity: AgentIdentity
    private let key: Ed25519.PrivateKey
    private let source: (any TokenSource)?
    private let clock: any WallClock
    private let policy: RefreshPolicy
    private var current: Current?
    private var inFlight: Task<IssuedToken, any Error>?
    private var refreshRefused: AuthorityError?
    /// Bumped by ``begin(task:step:)`` and ``end()``: a refresh started for an older step is not adopted.
    private var generation = 0

    /// How many refreshes this provider has obtained (for tests and metrics).
    public private(set) var refreshes = 0

    /// Creates a provider for an agent whose tokens come from `source`.
    public init(
        identity: AgentIdentity,
        key: Ed25519.PrivateKey,
        source: any TokenSource,
        clock: any WallClock = SystemClock(),
        refreshPolicy: RefreshPolicy = RefreshPolicy()
    ) {
        self.identity = identity
        self.key = key
        self.source = source
        self.clock = clock
        self.policy = refreshPolicy
    }

    /// Creates a provider for a sub-agent holding a token delegated to its key. It cannot refresh: when the
    /// token expires, calls fail closed until the supervisor delegates again.
    ///
    /// - Throws: ``AuthorityError/Code/delegationRefused`` when the token is not held by `key`.
    public init(
        identity: AgentIdentity,
        key: Ed25519.PrivateKey,
        delegatedToken token: CapabilityToken,
        clock: any WallClock = SystemClock()
    ) throws {
        guard token.holder == key.publicKey else {
            throw AuthorityError(.delegationRefused, "the delegated token is not held by \(identity)'s key")
        }
        self.identity = identity
        self.key = key
        self.source = nil
        self.clock = clock
        self.policy = RefreshPolicy()
        let expiry = token.delegations.compactMap(\.attenuation.expiresAt).min() ?? token.root.claims.expiresAt
        current = Current(
            token: token,
            taskID: token.root.claims.taskID,
            step: nil,
            expiresAt: min(expiry, token.root.claims.expiresAt),
            refreshAt: nil
        )
    }

    /// Obtains the token for a new task step (replacing any previous one).
    public func begin(task: String, step: StepGrant) async throws {
        guard let source else {
            throw AuthorityError(.credentialUnavailable, "a delegated provider cannot obtain new tokens")
        }
        inFlight?.cancel()
        inFlight = nil
        refreshRefused = nil
        generation += 1
        let mine = generation
        let issued = try await source.issue(task: task, step: step)
        guard generation == mine else {
            throw AuthorityError(.credentialUnavailable, "another step began while this one was being issued")
        }
        adopt(issued)
    }

    /// Forgets the current token locally (the step ended). To revoke it everywhere, the authority's
    /// ``CredentialAuthority/completeStep(task:step:)`` does that.
    public func end() {
        current = nil
        inFlight?.cancel()
        inFlight = nil
        generation += 1
    }

    /// The token and a fresh proof for one call, refreshing first when due.
    ///
    /// - Parameters:
    ///   - audience: the service the call goes to.
    ///   - action: the action the call performs.
    ///   - resource: the resource it acts on.
    ///   - attributes: request attributes the token's caveats may constrain.
    ///   - binding: the digest of the transport request the proof is bound to (`TokenRequest.binding`; for HTTP,
    ///     `WritHTTP`'s request digest over method, URL and body), or `nil` for an unbound proof.
    /// - Throws: ``AuthorityError/Code/credentialUnavailable`` when there is no valid token and none could be had.
    public func credential(
        audience: String,
        action: String,
        resource: String,
        attributes: [String: String] = [:],
        binding: [UInt8]? = nil
    ) async throws -> PresentedCredential {
        let token = try await usableToken()
        let request = TokenRequest(
            audience: audience,
            action: action,
            resource: resource,
            attributes: attributes,
            binding: binding
        )
        let proof = ProofOfPossession.sign(token: token, request: request, holderKey: key, at: clock.now())
        return PresentedCredential(token: token.text, proof: proof.text)
    }

    /// When the current token expires, if there is one.
    public var expiresAt: Timestamp? { current?.expiresAt }

    /// The current token's id, if there is one (ids are not secret).
    public var tokenID: TokenID? { current?.token.id }

    /// Delegates a narrower token to a sub-agent's own key (no round trip to the authority; the delegation is
    /// then recorded in the authority's audit trail).
    ///
    /// - Parameters:
    ///   - subAgent: the sub-agent's identity.
    ///   - publicKey: the sub-agent's own key (must differ from this agent's).
    ///   - agentClass: the sub-agent's class name.
    ///   - actions: the narrower actions (`nil` keeps the parent's).
    ///   - resources: the narrower resources (`nil` keeps the parent's).
    ///   - audiences: the narrower audiences (`nil` keeps the parent's).
    ///   - lifetime: how long the delegated token lives (capped by the parent's expiry).
    public func delegate(
        to subAgent: AgentIdentity,
        publicKey: Ed25519.PublicKey,
        agentClass: String,
        actions: [String]? = nil,
        resources: [ResourcePattern]? = nil,
        audiences: [String]? = nil,
        lifetime: Duration? = nil
    ) async throws -> CapabilityToken {
        guard publicKey != key.publicKey else {
            throw AuthorityError(.delegationRefused, "a sub-agent must have its own key")
        }
        let token = try await usableToken()
        let now = clock.now()
        let expiry = lifetime.map { min(now.advanced(by: $0), token.root.claims.expiresAt) }
        let attenuation = Attenuation(
            holder: publicKey,
            delegate: subAgent,
            delegateClass: agentClass,
            audiences: audiences,
            actions: actions,
            resources: resources,
            expiresAt: expiry
        )
        let delegated: CapabilityToken
        do {
            delegated = try token.delegating(attenuation, holderKey: key)
        } catch {
            throw AuthorityError(.delegationRefused, "delegation to \(subAgent) refused", underlying: error)
        }
        try await source?.recordDelegation(delegated, from: identity, to: subAgent)
        return delegated
    }

    // MARK: Refresh

    private func usableToken() async throws -> CapabilityToken {
        guard let current else {
            throw AuthorityError(.credentialUnavailable, "no token: begin a task step first")
        }
        let now = clock.now()
        if let refreshAt = current.refreshAt, now >= refreshAt, source != nil, refreshRefused == nil {
            do {
                return try await refreshed().token
            } catch {
                // Keep using the current token while it is valid (time read again: the refresh took time);
                // fail closed once it has expired.
                if clock.now() < current.expiresAt, let still = self.current, still.token == current.token {
                    return still.token
                }
                throw AuthorityError(.credentialUnavailable, "token expired and refresh failed", underlying: error)
            }
        }
        guard now < current.expiresAt else {
            throw AuthorityError(
                .credentialUnavailable,
                "token expired at \(current.expiresAt)\(refreshRefused.map { "; refresh refused: \($0)" } ?? "")"
            )
        }
        return current.token
    }

    private func refreshed() async throws -> IssuedToken {
        if let inFlight { return try await inFlight.value }
        guard let source, let taskID = current?.taskID, let step = current?.step else {
            throw AuthorityError(.credentialUnavailable, "nothing to refresh")
        }
        let policy = self.policy
        let mine = generation
        let task = Task { try await Self.refresh(source: source, task: taskID, step: step, policy: policy) }
        inFlight = task
        do {
            let issued = try await task.value
            if inFlight == task { inFlight = nil }
            guard generation == mine else {
                throw AuthorityError(.credentialUnavailable, "the step changed while its token was being refreshed")
            }
            if current?.token.id != issued.token.id {
                adopt(issued)
                refreshes += 1
            }
            return issued
        } catch let error as AuthorityError {
            if inFlight == task { inFlight = nil }
            if Self.isRefusal(error) { refreshRefused = error }
            throw error
        } catch {
            if inFlight == task { inFlight = nil }
            throw error
        }
    }

    private static func refresh(
        source: any TokenSource,
        task: String,
        step: String,
        policy: RefreshPolicy
    )
        async throws -> IssuedToken
    {
        var delay = policy.backoff
        for attempt in 1...policy.attempts {
            do {
                return try await source.refresh(task: task, step: step)
            } catch let error as AuthorityError where isRefusal(error) {
                throw error
            } catch {
                if attempt == policy.attempts { throw error }
                try await Task.sleep(for: delay)
                delay = delay * 2
            }
        }
        throw AuthorityError(.credentialUnavailable, "refresh attempts exhausted")
    }

    private static func isRefusal(_ error: AuthorityError) -> Bool {
        [.taskClosed, .deadlinePassed, .refreshLimitReached, .unknownTask, .unknownStep, .unknownAgent, .notEntitled]
            .contains(error.code)
    }

    private func adopt(_ issued: IssuedToken) {
        let lifetime = max(.zero, issued.issuedAt.duration(to: issued.expiresAt))
        let jitter = policy.jitter > 0 ? Double(SecureRandom.uniform(10_000)) / 10_000 * policy.jitter : 0
        // A fraction in [0.05, 1] of a duration that fits: the product fits too (no conversion that can trap).
        let offset = lifetime * min(1, max(0.05, policy.fraction - jitter))
        current = Current(
            token: issued.token,
            taskID: issued.taskID,
            step: issued.step,
            expiresAt: issued.expiresAt,
            refreshAt: issued.issuedAt.advanced(by: offset)
        )
    }
}
