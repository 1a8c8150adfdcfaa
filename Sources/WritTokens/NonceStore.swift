public import WritCrypto

/// Where verifiers remember the nonces of proofs of possession they accepted, so a proof is accepted once.
///
/// A store is consulted after every synchronous check of a request has passed (chain, request, proof signature
/// and freshness, revocation), so only nonces of validly signed, fresh proofs are recorded. Verifiers that share
/// one store — replicas of one service, or successive runs of `writ verify --nonces` — accept each proof at most
/// once between them.
///
/// A nonce needs to be remembered only until its proof would be stale anyway: ``ProofOfPossession/nonceExpiry(options:now:)``
/// gives that instant, and ``record(_:options:at:)`` does both steps. A store may forget a nonce once its expiry
/// has passed, and must not forget it before.
///
/// Conforming types: ``FileNonceStore`` (one file shared by processes on one machine) and
/// ``InMemoryReplayCache`` (one process).
public protocol NonceStore: Sendable {
    /// Records `nonce` until `expiresAt` unless it is already recorded and has not expired.
    ///
    /// The store reads the current time from its own clock to decide whether a recorded nonce has expired.
    ///
    /// - Parameters:
    ///   - nonce: The nonce of a proof that passed every other check.
    ///   - expiresAt: When the proof stops being accepted; the nonce is remembered at least until then.
    /// - Returns: `true` when the nonce was not recorded (or had expired) and is now recorded — durably, for a
    ///   store backed by storage; `false` when it is recorded and unexpired: the proof is a replay.
    /// - Throws: When the store cannot answer (full, unreadable, corrupt, not durable). A verifier must then
    ///   refuse the request: an unanswered nonce check fails closed.
    func insertIfAbsent(_ nonce: ReplayNonce, expiresAt: Timestamp) async throws -> Bool
}

extension NonceStore {
    /// Records the nonce of `proof` for as long as a verifier with `options` would accept the proof.
    ///
    /// Call it after every other check of the request has passed.
    ///
    /// - Parameters:
    ///   - proof: The proof of possession that was checked.
    ///   - options: The options the proof was checked with (their freshness and skew set how long the nonce is
    ///     remembered).
    ///   - now: The time the request was checked at.
    /// - Throws: ``TokenError`` with code ``TokenError/Code/replayedNonce`` when the nonce was already recorded;
    ///   the store's own error when it cannot answer.
    public func record(
        _ proof: ProofOfPossession,
        options: VerificationOptions = .init(),
        at now: Timestamp
    ) async throws {
        let inserted = try await insertIfAbsent(proof.nonce, expiresAt: proof.nonceExpiry(options: options, now: now))
        if !inserted { throw TokenError(.replayedNonce, "proof nonce \(proof.nonce) was already used") }
    }
}

extension ProofOfPossession {
    /// How long a replay cache or nonce store must remember this proof's nonce.
    ///
    /// A verifier accepts the proof up to and including its timestamp + `options.proofFreshness` +
    /// `options.clockSkew`, so the nonce is remembered until one millisecond past that instant, and never less
    /// than until `now`. (A `maximumProofAge` caveat only shortens how long the proof is accepted, so this is an
    /// upper bound for every token.)
    ///
    /// - Parameters:
    ///   - options: The verifier's clock skew and proof freshness.
    ///   - now: The verifier's current time.
    /// - Returns: The instant from which the nonce may be forgotten.
    public func nonceExpiry(options: VerificationOptions, now: Timestamp) -> Timestamp {
        let end = timestamp.advanced(by: options.proofFreshness).advanced(by: options.clockSkew)
            .advanced(by: .milliseconds(1))
        return max(end, now)
    }
}

/// An error raised by a ``NonceStore`` that cannot answer; the request it was asked about must be refused.
///
/// Errors compare by ``code``. ``context`` says what failed; ``path`` and ``line`` name the file and the line
/// (1 is the header) when the failure belongs to one. ``underlying`` keeps the system error, when there is one.
public struct NonceStoreError: WritError {
    /// What went wrong. New codes may be added.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String, Hashable, Sendable {
            case full, corrupt, unavailable, unsafePath
        }

        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// The store holds as many unexpired nonces as it may and cannot record another.
        public static let full = Code(.full)
        /// The stored data is not in the store's format: a wrong header, a malformed line, a bad checksum, a
        /// file shorter than what was already read.
        public static let corrupt = Code(.corrupt)
        /// The store cannot be opened, locked, read, written or synced.
        public static let unavailable = Code(.unavailable)
        /// The path is a symbolic link or not a regular file.
        public static let unsafePath = Code(.unsafePath)

        public var description: String { value.rawValue }
    }

    /// What went wrong, for programmatic checks.
    public let code: Code
    /// A human-readable explanation naming what failed.
    public let context: String
    /// The file the failure belongs to, when there is one.
    public let path: String?
    /// The line of that file (1 is the header), when the failure belongs to one.
    public let line: Int?
    /// The system error behind the failure, when there is one.
    public let underlying: (any Error)?

    /// Creates an error.
    ///
    /// - Parameters:
    ///   - code: What went wrong.
    ///   - context: What failed, in words (never secret bytes).
    ///   - path: The file concerned.
    ///   - line: The line of that file.
    ///   - underlying: The system error behind the failure.
    public init(
        _ code: Code,
        _ context: String,
        path: String? = nil,
        line: Int? = nil,
        underlying: (any Error)? = nil
    ) {
        self.code = code
        self.context = context
        self.path = path
        self.line = line
        self.underlying = underlying
    }

    public var description: String {
        var location = path.map { "'\($0)'" } ?? ""
        if let line { location += location.isEmpty ? "line \(line)" : ":\(line)" }
        return location.isEmpty ? "\(code): \(context)" : "\(code): \(location): \(context)"
    }

}
