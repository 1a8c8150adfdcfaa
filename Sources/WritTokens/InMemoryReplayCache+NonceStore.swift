public import WritCrypto

extension InMemoryReplayCache: NonceStore {
    /// Records `nonce` until `expiresAt` unless it is already recorded and unexpired, reading the time from the
    /// cache's clock: ``insertIfAbsent(_:expiresAt:now:)`` as a ``NonceStore`` for one process.
    ///
    /// - Parameters:
    ///   - nonce: The nonce of a proof that passed every other check.
    ///   - expiresAt: When the proof stops being accepted.
    /// - Returns: `true` when the nonce is newly recorded, `false` for a replay.
    /// - Throws: ``NonceStoreError`` with code ``NonceStoreError/Code/full`` when the cache is full of unexpired
    ///   nonces (it never evicts one, so a full cache refuses).
    public func insertIfAbsent(_ nonce: ReplayNonce, expiresAt: Timestamp) async throws(NonceStoreError) -> Bool {
        switch insertIfAbsent(nonce, expiresAt: expiresAt, now: clock.now()) {
        case .inserted: return true
        case .replayed: return false
        case .full:
            throw NonceStoreError(.full, "the in-memory replay cache holds \(capacity) unexpired nonces")
        }
    }
}
