import WritCrypto
public import WritTokens

/// The behaviour every `NonceStore` must show, as a list of failures (empty when the store conforms), so the
/// suite can itself be shown to fail against a broken store.
///
/// It checks replays within one handle and across two handles on one backing store (as two processes, or two
/// replicas of one service, would share it), expiry by the store's clock, and that concurrent offers of the same
/// nonce from both handles insert it exactly once.
public struct NonceStoreConformance: Sendable {
    /// A fresh, empty store reading `clock`.
    public let makeStore: @Sendable (ManualClock) throws -> any NonceStore
    /// The backing store of the last store made, opened again as a restarted process would.
    public let reopen: @Sendable (ManualClock) throws -> any NonceStore
    /// A second handle on the backing store of the last store made, as another process would open it.
    public let openPeer: @Sendable (ManualClock) throws -> any NonceStore

    /// Creates the suite.
    ///
    /// - Parameters:
    ///   - makeStore: returns a fresh, empty store reading the given clock.
    ///   - reopen: opens the backing store of the last store made again (a restart; a memory store: the same one).
    ///   - openPeer: returns a second handle on the backing store of the last store made.
    public init(
        makeStore: @escaping @Sendable (ManualClock) throws -> any NonceStore,
        reopen: @escaping @Sendable (ManualClock) throws -> any NonceStore,
        openPeer: @escaping @Sendable (ManualClock) throws -> any NonceStore
    ) {
        self.makeStore = makeStore
        self.reopen = reopen
        self.openPeer = openPeer
    }

    /// Runs every check; returns what failed (empty when the store conforms).
    public func run() async throws -> [String] {
        var failures: [String] = []
        func check(_ condition: Bool, _ what: String) { if !condition { failures.append(what) } }
        let clock = ManualClock()
        let store = try makeStore(clock)
        let a = ReplayNonce.random()
        let b = ReplayNonce.random()
        let expiry = clock.now().advanced(by: .seconds(90))

        check(try await store.insertIfAbsent(a, expiresAt: expiry), "a new nonce is inserted")
        check(!(try await store.insertIfAbsent(a, expiresAt: expiry)), "the same nonce again is a replay")
        check(try await store.insertIfAbsent(b, expiresAt: expiry), "another nonce is independent")

        let restarted = try reopen(clock)
        check(!(try await restarted.insertIfAbsent(b, expiresAt: expiry)), "a reopened store still knows the nonce")

        let peer = try openPeer(clock)
        check(!(try await peer.insertIfAbsent(a, expiresAt: expiry)), "a peer handle sees the nonce as recorded")
        let c = ReplayNonce.random()
        check(try await peer.insertIfAbsent(c, expiresAt: expiry), "a peer records a new nonce")
        check(!(try await store.insertIfAbsent(c, expiresAt: expiry)), "the first handle sees the peer's nonce")

        clock.advance(by: .seconds(89))
        check(!(try await store.insertIfAbsent(a, expiresAt: expiry)), "a nonce is remembered until its expiry")
        clock.advance(by: .seconds(1))
        check(
            try await store.insertIfAbsent(a, expiresAt: clock.now().advanced(by: .seconds(90))),
            "an expired nonce may be recorded again"
        )

        // Many nonces, each offered by both handles at once: exactly one insertion each.
        let nonces = (0..<64).map { _ in ReplayNonce.random() }
        let later = clock.now().advanced(by: .seconds(90))
        let wins = try await withThrowingTaskGroup(of: Bool.self) { group in
            for nonce in nonces {
                for handle in [store, peer] {
                    group.addTask { try await handle.insertIfAbsent(nonce, expiresAt: later) }
                }
            }
            var count = 0
            for try await inserted in group where inserted { count += 1 }
            return count
        }
        check(wins == nonces.count, "concurrent offers from two handles insert each nonce once (\(wins) wins)")
        return failures
    }
}
