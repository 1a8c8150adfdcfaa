import WritCrypto
import WritTokens

/// A store that forgets everything: the conformance suite must catch it.
struct ForgetfulNonceStore: NonceStore {
    func insertIfAbsent(_ nonce: ReplayNonce, expiresAt: Timestamp) async throws -> Bool { true }
}
