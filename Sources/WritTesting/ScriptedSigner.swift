import Synchronization
public import WritCrypto

/// A ``Signer`` standing in for a KMS or HSM: it signs with a key it holds, counts calls, and can be told to fail
/// or to return something that is not a signature.
public final class ScriptedSigner: Signer {
    /// What the next calls do.
    public enum Mode: Sendable {
        /// Sign with the key.
        case sign
        /// Throw, as an unreachable KMS would.
        case fail
        /// Return three bytes instead of a signature.
        case short
    }

    private let state = Mutex((calls: 0, mode: Mode.sign))
    private let key: Ed25519.PrivateKey

    /// Calls so far.
    public var calls: Int { state.withLock { $0.calls } }

    /// Sets what the next calls do (``Mode/sign`` at first).
    public func setMode(_ mode: Mode) { state.withLock { $0.mode = mode } }

    /// Creates a signer over `key`.
    public init(key: Ed25519.PrivateKey) { self.key = key }

    /// The held key's public half.
    public var publicKey: Ed25519.PublicKey { key.publicKey }

    /// Signs, fails or returns junk, per ``mode``.
    public func signature(for message: [UInt8]) throws -> [UInt8] {
        let mode = state.withLock { state in
            state.calls += 1
            return state.mode
        }
        switch mode {
        case .sign: return key.signature(for: message)
        case .fail: throw CryptoError(.invalidLength, "the signer is unreachable (scripted)")
        case .short: return [1, 2, 3]
        }
    }
}
