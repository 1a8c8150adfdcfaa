import Synchronization
public import WritCrypto

/// The authority's side of the signed revocation feed: appends signed entries, publishes signed heads, prunes
/// behind a signed floor, and proves revocations from verifiers' signed watermark reports.
///
/// A publisher remembers the newest tip it wrote or published and passes it to the store as the minimum, so a
/// store that is rolled back under a running authority is refused instead of extended. ``run()`` publishes a head
/// every ``headInterval`` (so verifiers stay fresh when nothing is revoked) until its task is cancelled.
public final class RevocationPublisher: Sendable {
    /// The store the feed is kept in.
    public let store: any RevocationStore
    /// Where verifiers leave their watermark reports (`nil`: no revocation can be proven).
    public let watermarks: (any WatermarkStore)?
    /// Time between heads published by ``run()``.
    public let headInterval: Duration

    private let signer: any Signer
    private let clock: any WallClock
    private let known = Mutex<RevocationFeedTip?>(nil)
    private let verifiers = Mutex<[String: Ed25519.PublicKey]>([:])

    /// Creates a publisher.
    ///
    /// - Parameters:
    ///   - store: the feed's store.
    ///   - signer: the authority's revocation key (listed in the trust bundle, separate from the token key).
    ///   - clock: the wall clock for revocation and head times.
    ///   - watermarks: where verifiers report what they applied.
    ///   - headInterval: how often ``run()`` signs a head (at most one second keeps the default staleness meaningful).
    public init(
        store: some RevocationStore,
        signer: some Signer,
        clock: some WallClock,
        watermarks: (any WatermarkStore)? = nil,
        headInterval: Duration = .seconds(1)
    ) {
        self.store = store
        self.signer = signer
        self.clock = clock
        self.watermarks = watermarks
        self.headInterval = headInterval
    }

    /// The newest tip this publisher wrote or published (`nil` before its first write).
    public var tip: RevocationFeedTip? { known.withLock { $0 } }

    /// The revocation key's public half (what verifiers must trust).
    public var publicKey: Ed25519.PublicKey { signer.publicKey }

    /// Records a revocation now, then publishes a head covering it; returns its entry.
    ///
    /// - Throws: ``RevocationError`` (`invalidTarget`, `storeUnavailable`, or `tampered` for a rolled-back store).
    @discardableResult
    public func revoke(
        _ target: RevocationTarget,
        reason: RevocationReason,
        coversUntil: Timestamp
    ) async throws -> SignedRevocationEntry {
        let entries = try await revoke([
            RevocationRequest(target, reason: reason, at: clock.now(), coversUntil: coversUntil)
        ])
        return entries[0]
    }

    /// Records several revocations in one write, then publishes one head covering them.
    @discardableResult
    public func revoke(_ requests: [RevocationRequest]) async throws -> [SignedRevocationEntry] {
        let entries = try await store.append(requests, signer: signer, minimum: known.withLock { $0 })
        if let last = entries.max(by: { $0.sequence < $1.sequence }) {
            advance(to: RevocationFeedTip(sequence: last.sequence, hash: last.hash))
        }
        try await publishHead()
        return entries
    }

    /// Signs and stores a head over the feed's tip, as of now.
    @discardableResult
    public func publishHead() async throws -> SignedFeedMark {
        let head = try await store.publishHead(at: clock.now(), signer: signer, minimum: known.withLock { $0 })
        advance(to: RevocationFeedTip(sequence: head.sequence, hash: head.hash))
        return head
    }

    private func advance(to tip: RevocationFeedTip) {
        known.withLock { known in
            if known.map({ tip.sequence > $0.sequence }) ?? true { known = tip }
        }
    }

    /// Removes the prefix of entries that stopped covering anything before `time`, behind a signed floor.
    @discardableResult
    public func prune(expiredBefore time: Timestamp) async throws -> Int {
        try await store.prune(expiredBefore: time, at: clock.now(), signer: signer)
    }

    /// Publishes a head every ``headInterval`` until the task is cancelled.
    ///
    /// - Parameter onError: called with each failed publication (the loop goes on; verifiers go stale meanwhile).
    public func run(onError: @Sendable (any Error) -> Void = { _ in }) async {
        while !Task.isCancelled {
            do { try await publishHead() } catch { onError(error) }
            try? await Task.sleep(for: headInterval)
        }
    }

    // MARK: Proofs

    /// Registers a verifier's report-signing key: only its signed reports count in proofs.
    public func register(verifier: String, key: Ed25519.PublicKey) {
        verifiers.withLock { $0[verifier] = key }
    }

    /// Forgets a verifier (decommissioned), so it no longer holds back proofs.
    public func unregister(verifier: String) async throws {
        _ = verifiers.withLock { $0.removeValue(forKey: verifier) }
        try await watermarks?.removeVerifier(verifier)
    }

    /// The registered verifiers' names, sorted.
    public var registeredVerifiers: [String] { verifiers.withLock { $0.keys.sorted() } }

    /// Which registered verifiers have applied revocation `sequence`, proven by their signed reports.
    ///
    /// A report counts only when it is signed by its verifier's registered key and names the hash the feed holds at
    /// its sequence (so a verifier that followed a forked or rolled-back feed proves nothing). Every registered
    /// verifier is expected; `expected` adds names that must be present even if not registered.
    public func revocationProof(
        for sequence: UInt64,
        expecting expected: some Sequence<String> = [String]()
    ) async throws -> RevocationProof {
        let keys = verifiers.withLock { $0 }
        let reports = try await watermarks?.reports() ?? []
        var valid: [VerifierWatermark] = []
        var rejected: [String] = []
        for report in reports {
            guard let key = keys[report.verifier] else { continue }  // not registered: not part of the proof
            guard report.isSigned(by: key) else {
                rejected.append("\(report.verifier): report not signed by its registered key")
                continue
            }
            guard try await hashMatches(report) else {
                rejected.append("\(report.verifier): report names another entry #\(report.sequence) (forked feed?)")
                continue
            }
            valid.append(report.watermark)
        }
        let reporting = Set(valid.map(\.verifier))
        let missing = Set(keys.keys).union(expected).subtracting(reporting).sorted()
        return RevocationProof(
            sequence: sequence,
            watermarks: valid.sorted { $0.verifier < $1.verifier },
            laggards: valid.filter { $0.sequence < sequence }.sorted { $0.verifier < $1.verifier },
            unregistered: missing,
            rejected: rejected.sorted()
        )
    }

    /// Whether every registered verifier (and every one named in `expected`) has applied `sequence`, proven by
    /// signed reports; `false` when no verifier reported at all.
    public func isApplied(sequence: UInt64, byAll expected: some Sequence<String> = [String]()) async throws -> Bool {
        try await revocationProof(for: sequence, expecting: expected).isComplete
    }

    private func hashMatches(_ report: WatermarkReport) async throws -> Bool {
        guard report.sequence > 0 else { return report.hash == .zero }
        let page = try await store.page(after: report.sequence - 1, limit: 1)
        if let entry = page.entries.first, entry.sequence == report.sequence { return entry.hash == report.hash }
        if let floor = page.floor, floor.sequence == report.sequence { return floor.hash == report.hash }
        return false  // beyond the feed's end, or pruned: proves nothing about a live revocation
    }
}
