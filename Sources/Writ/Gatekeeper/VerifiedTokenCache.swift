import Synchronization
import WritTokens

/// A bounded cache of tokens whose chain (signatures, linkage, narrowing) has already been verified, keyed by
/// the token's digest.
///
/// Only the time-independent chain check is cached; expiry, the issuer key's window, audience, proof of
/// possession, replay, revocation and policy are checked on every request. When full, the oldest entry is
/// evicted (first in, first out).
final class VerifiedTokenCache: Sendable {
    private struct State {
        var entries: [TokenDigest: VerifiedToken] = [:]
        var order: [TokenDigest] = []
        var head = 0
    }

    private let capacity: Int
    private let state = Mutex(State())

    init(capacity: Int) { self.capacity = max(0, capacity) }

    func lookup(_ digest: TokenDigest) -> VerifiedToken? {
        guard capacity > 0 else { return nil }
        return state.withLock { $0.entries[digest] }
    }

    func insert(_ token: VerifiedToken) {
        guard capacity > 0 else { return }
        state.withLock { state in
            guard state.entries[token.digest] == nil else { return }
            if state.entries.count >= capacity {
                state.entries.removeValue(forKey: state.order[state.head])
                state.head += 1
                if state.head >= capacity {
                    state.order.removeFirst(state.head)
                    state.head = 0
                }
            }
            state.entries[token.digest] = token
            state.order.append(token.digest)
        }
    }

    var count: Int { state.withLock { $0.entries.count } }
}
