import CSodium

/// Ed25519 signatures (RFC 8032) through libsodium's `crypto_sign_*`.
public enum Ed25519 {
    /// Bytes in a public key.
    public static let publicKeyByteCount = 32
    /// Bytes in a private key seed.
    public static let seedByteCount = 32
    /// Bytes in a signature.
    public static let signatureByteCount = 64

    /// A signing key. Its secret bytes are zeroised when released and never printed.
    public struct PrivateKey: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
        /// libsodium's 64-byte secret key (seed followed by the public key).
        private let secret: SecureBytes
        /// The matching verification key.
        public let publicKey: PublicKey

        /// Generates a new random key.
        public init() {
            self.init(validatedSeed: SecureBytes.random(count: Ed25519.seedByteCount))
        }

        /// Recreates a key from its 32-byte seed.
        ///
        /// - Throws: ``CryptoError/Code/invalidLength`` when the seed is not 32 bytes.
        public init(seed: SecureBytes) throws {
            guard seed.count == Ed25519.seedByteCount else {
                throw CryptoError(.invalidLength, "Ed25519 seed must be 32 bytes, got \(seed.count)")
            }
            self.init(validatedSeed: seed)
        }

        private init(validatedSeed seed: SecureBytes) {
            SodiumRuntime.ensureReady()
            var publicBytes = [UInt8](repeating: 0, count: Ed25519.publicKeyByteCount)
            secret = SecureBytes(count: Int(crypto_sign_SECRETKEYBYTES)) { sk in
                seed.withUnsafeBytes { seedBytes in
                    publicBytes.withUnsafeMutableBufferPointer { pk in
                        _ = crypto_sign_seed_keypair(
                            pk.baseAddress!,
                            sk.baseAddress!.assumingMemoryBound(to: UInt8.self),
                            seedBytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
                        )
                    }
                }
            }
            publicKey = PublicKey(trustedRawRepresentation: publicBytes, precomputeKeyID: true)
        }

        /// The 32-byte seed from which the key can be recreated. Keep it secret.
        public var seed: SecureBytes {
            secret.withUnsafeBytes { SecureBytes($0.prefix(Ed25519.seedByteCount)) }
        }

        /// Signs `message`, returning a 64-byte signature.
        public func signature(for message: some Sequence<UInt8>) -> [UInt8] {
            withContiguous(message) { signature(forBuffer: $0) }
        }

        /// Signs the bytes in `message`, returning a 64-byte signature.
        public func signature(forBuffer message: UnsafeRawBufferPointer) -> [UInt8] {
            SodiumRuntime.ensureReady()
            return [UInt8](unsafeUninitializedCapacity: Ed25519.signatureByteCount) { out, initialized in
                secret.withUnsafeBytes { sk in
                    _ = crypto_sign_detached(
                        out.baseAddress!,
                        nil,
                        message.baseAddress?.assumingMemoryBound(to: UInt8.self),
                        UInt64(message.count),
                        sk.baseAddress!.assumingMemoryBound(to: UInt8.self)
                    )
                }
                initialized = Ed25519.signatureByteCount
            }
        }

        public var description: String { "Ed25519.PrivateKey(<redacted>, public: \(publicKey.keyID))" }
        public var debugDescription: String { description }
    }

    /// A verification key.
    public struct PublicKey: Sendable, Hashable, CustomStringConvertible {
        /// The 32 raw bytes of the key.
        public let rawRepresentation: [UInt8]
        /// The id, when computed up front (keys made from a private key); otherwise derived on read.
        private let precomputedKeyID: KeyID?

        /// The key's identifier, derived from its bytes. Keys parsed from bytes compute it on each read (one
        /// BLAKE2b), so parsing a key on the verify path costs nothing until an id is needed; keys of a
        /// ``PrivateKey`` have it computed once.
        public var keyID: KeyID { precomputedKeyID ?? KeyID(publicKeyBytes: rawRepresentation) }

        /// Wraps 32 bytes as a public key.
        ///
        /// - Throws: ``CryptoError/Code/invalidLength`` for a wrong length.
        public init(rawRepresentation bytes: some Sequence<UInt8>) throws {
            let raw = Array(bytes)
            guard raw.count == Ed25519.publicKeyByteCount else {
                throw CryptoError(.invalidLength, "Ed25519 public key must be 32 bytes, got \(raw.count)")
            }
            self.init(trustedRawRepresentation: raw)
        }

        init(trustedRawRepresentation raw: [UInt8], precomputeKeyID: Bool = false) {
            rawRepresentation = raw
            precomputedKeyID = precomputeKeyID ? KeyID(publicKeyBytes: raw) : nil
        }

        /// Returns whether `signature` is a valid signature of `message` by this key.
        ///
        /// libsodium rejects non-canonical signatures (S ≥ L) and small-order keys and R values.
        public func isValidSignature(_ signature: some Sequence<UInt8>, for message: some Sequence<UInt8>) -> Bool {
            withContiguous(signature) { sig in withContiguous(message) { isValidSignature(sig, forBuffer: $0) } }
        }

        /// Returns whether `signature` is a valid signature of the bytes in `message` by this key.
        public func isValidSignature(
            _ signature: UnsafeRawBufferPointer,
            forBuffer message: UnsafeRawBufferPointer
        ) -> Bool {
            SodiumRuntime.ensureReady()
            guard signature.count == Ed25519.signatureByteCount else { return false }
            return rawRepresentation.withUnsafeBufferPointer { pk in
                crypto_sign_verify_detached(
                    signature.baseAddress!.assumingMemoryBound(to: UInt8.self),
                    message.baseAddress?.assumingMemoryBound(to: UInt8.self),
                    UInt64(message.count),
                    pk.baseAddress!
                ) == 0
            }
        }

        public var description: String { "Ed25519.PublicKey(\(keyID))" }

        public static func == (lhs: PublicKey, rhs: PublicKey) -> Bool {
            lhs.rawRepresentation == rhs.rawRepresentation
        }
        public func hash(into hasher: inout Hasher) { hasher.combine(rawRepresentation) }
    }
}
