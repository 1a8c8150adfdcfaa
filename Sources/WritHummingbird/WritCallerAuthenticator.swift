#if HTTP
import Synchronization
public import Writ
public import WritCrypto
public import WritHTTP
public import WritIdentity
public import WritTokens

/// Who called the authority, once ``WritCallerAuthenticator`` verified the call.
public enum WritCaller: Sendable, Hashable, CustomStringConvertible {
    /// A registered, unrevoked agent, by its identity document.
    case agent(IdentityDocument)
    /// An operator key configured at start.
    case `operator`(Ed25519.PublicKey)
    /// A service (verifier) key configured at start, with the verifier's name.
    case service(name: String, key: Ed25519.PublicKey)
    /// A key no one configured: only attestation accepts it (the evidence must be signed by the same key).
    case unregisteredKey(Ed25519.PublicKey)

    /// The key that signed the call.
    public var key: Ed25519.PublicKey {
        switch self {
        case .agent(let document): document.publicKey
        case .operator(let key), .service(_, let key), .unregisteredKey(let key): key
        }
    }

    public var description: String {
        switch self {
        case .agent(let document): "agent \(document.identity)"
        case .operator(let key): "operator \(key.keyID)"
        case .service(let name, _): "service \(name)"
        case .unregisteredKey(let key): "key \(key.keyID)"
        }
    }
}

/// Verifies the caller of an authority route (`Docs/HTTPBinding.md` §6): the credential in `Authorization`, a
/// proof by its key bound to method, URL, body, credential, time and nonce, a nonce never seen before, and — for
/// an identity document — the authority's signature, validity and the identity's registered, unrevoked key.
public struct WritCallerAuthenticator: Sendable {
    /// The authority's public origin.
    public var origin: WritOrigin
    /// The authority's audience.
    public var audience: String
    /// Issuer keys identity documents are checked against.
    public var issuers: TrustBundle
    /// Operator keys.
    public var operatorKeys: Set<Ed25519.PublicKey>
    /// Service keys, by verifier name.
    public var serviceKeys: [String: Ed25519.PublicKey]
    /// Proof freshness and clock skew.
    public var verification: VerificationOptions
    /// Proof nonces seen (this process).
    public var replayCache: any ReplayCache
    /// Proof nonces shared with the authority's replicas (`nil`: this process only).
    public var sharedNonces: (any NonceStore)?
    /// The clock.
    public var clock: any WallClock

    /// Creates an authenticator.
    public init(
        origin: WritOrigin,
        audience: String,
        issuers: TrustBundle,
        operatorKeys: Set<Ed25519.PublicKey>,
        serviceKeys: [String: Ed25519.PublicKey],
        verification: VerificationOptions = VerificationOptions(),
        replayCache: any ReplayCache = InMemoryReplayCache(),
        sharedNonces: (any NonceStore)? = nil,
        clock: any WallClock = SystemClock()
    ) {
        self.origin = origin
        self.audience = audience
        self.issuers = issuers
        self.operatorKeys = operatorKeys
        self.serviceKeys = serviceKeys
        self.verification = verification
        self.replayCache = replayCache
        self.sharedNonces = sharedNonces
        self.clock = clock
    }

    /// Verifies one call.
    ///
    /// - Parameters:
    ///   - presentation: the parsed headers.
    ///   - method, target, body: the request as received.
    ///   - authority: for the registered key of an agent.
    /// - Returns: the caller.
    /// - Throws: the ``WritRefusal`` to answer.
    public func authenticate(
        _ presentation: WritPresentation,
        method: String,
        target: String,
        body: [UInt8],
        authority: CredentialAuthority
    ) async throws(WritRefusal) -> WritCaller {
        let credential: WritCredential
        do { credential = try WritCredential(text: presentation.credential) } catch {
            throw WritRefusal(
                status: 401,
                error: "invalid_token",
                code: "malformed-token",
                message: error.message,
                retry: .none
            )
        }
        guard let proofText = presentation.proof, let proof = try? ProofOfPossession(text: proofText) else {
            throw WritRefusal(
                status: 401,
                error: "invalid_proof",
                code: "malformed-proof",
                message: "the Writ-Proof header is missing or does not decode",
                retry: .newProof
            )
        }
        let request: TokenRequest
        do {
            let mapped = try WritRouteMap().map(method: method, target: target)
            request = TokenRequest(
                audience: audience,
                action: mapped.action,
                resource: mapped.resource,
                binding: try WritHTTPRequestDigest.digest(
                    method: method,
                    origin: origin,
                    target: target,
                    bodyDigest: WritHTTPRequestDigest.bodyDigest(body)
                )
            )
        } catch {
            throw WritRefusal(error)
        }
        // The signature first: nothing the proof claims is looked at before it is known to come from the key.
        guard proof.isValid(tokenDigest: credential.digest, request: request, holder: credential.holderKey) else {
            throw WritRefusal(
                status: 401,
                error: "invalid_proof",
                code: "proof-invalid",
                message: "the proof is not signed by the credential's key for this method, URL and body",
                retry: .newProof
            )
        }
        let now = clock.now()
        let skew = verification.clockSkew
        guard proof.timestamp <= now.advanced(by: skew),
            proof.timestamp.advanced(by: verification.proofFreshness).advanced(by: skew) >= now
        else {
            throw WritRefusal(
                status: 401,
                error: "invalid_proof",
                code: "proof-stale",
                message: "the proof is dated \(proof.timestamp), outside the freshness window",
                retry: .newProof
            )
        }
        let expiry = proof.timestamp.advanced(by: verification.proofFreshness).advanced(by: skew)
            .advanced(by: .milliseconds(1))
        switch replayCache.insertIfAbsent(proof.nonce, expiresAt: max(expiry, now), now: now) {
        case .inserted: break
        case .replayed:
            throw WritRefusal(
                status: 401,
                error: "invalid_proof",
                code: "replayed",
                message: "the proof's nonce was already used",
                retry: .newProof
            )
        case .full:
            throw WritRefusal(
                status: 503,
                error: "temporarily_unavailable",
                code: "replay-cache-full",
                message: "the replay cache is full",
                retry: .later
            )
        }
        if let sharedNonces {
            let fresh: Bool
            do { fresh = try await sharedNonces.insertIfAbsent(proof.nonce, expiresAt: max(expiry, now)) } catch {
                throw WritRefusal(
                    status: 503,
                    error: "temporarily_unavailable",
                    code: "nonce-store-unavailable",
                    message: "the shared nonce store cannot answer",
                    retry: .later
                )
            }
            guard fresh else {
                throw WritRefusal(
                    status: 401,
                    error: "invalid_proof",
                    code: "replayed",
                    message: "the proof's nonce was already used at another replica",
                    retry: .newProof
                )
            }
        }
        switch credential {
        case .token:
            throw WritRefusal(
                status: 401,
                error: "invalid_token",
                code: "wrong-credential",
                message: "the authority takes an identity document or a key, not a capability token",
                retry: .none
            )
        case .identity(let document):
            do { try document.verify(trustBundle: issuers, at: now, clockSkew: skew) } catch {
                throw WritRefusal(
                    status: 401,
                    error: "invalid_token",
                    code: "identity-rejected",
                    tokenError: error.code.description,
                    message: error.description,
                    retry: error.code == .expired ? .reauthorize : .none
                )
            }
            let registered: CredentialAuthority.Agent?
            do { registered = try await authority.agent(document.identity) } catch {
                throw WritRefusal(
                    status: 503,
                    error: "temporarily_unavailable",
                    code: "store-failed",
                    message: "the authority's store cannot answer",
                    retry: .later
                )
            }
            guard let registered, !registered.isRevoked, registered.publicKey == document.publicKey else {
                throw WritRefusal(
                    status: 401,
                    error: "invalid_token",
                    code: "revoked",
                    message: "agent \(document.identity) is not registered with this key, or is revoked",
                    retry: .reauthorize
                )
            }
            return .agent(document)
        case .key(let key):
            if operatorKeys.contains(key) { return .operator(key) }
            if let name = serviceKeys.first(where: { $0.value == key })?.key { return .service(name: name, key: key) }
            return .unregisteredKey(key)
        }
    }
}

#endif
