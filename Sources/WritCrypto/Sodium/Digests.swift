import CSodium

/// SHA-256 (`crypto_hash_sha256`), used where a standard requires it (RFC 6962 Merkle trees, audit chains).
public struct SHA256: Sendable {
    /// Bytes in a digest.
    public static let byteCount = 32

    private var state = crypto_hash_sha256_state()

    /// Starts an incremental hash.
    public init() {
        SodiumRuntime.ensureReady()
        _ = crypto_hash_sha256_init(&state)
    }

    /// Adds `bytes` to the hash.
    public mutating func update(_ bytes: some Sequence<UInt8>) {
        withContiguous(bytes) { update(buffer: $0) }
    }

    /// Adds the bytes in `buffer` to the hash.
    public mutating func update(buffer: UnsafeRawBufferPointer) {
        _ = crypto_hash_sha256_update(
            &state,
            buffer.baseAddress?.assumingMemoryBound(to: UInt8.self),
            UInt64(buffer.count)
        )
    }

    /// Adds one byte to the hash.
    public mutating func update(byte: UInt8) {
        var b = byte
        _ = crypto_hash_sha256_update(&state, &b, 1)
    }

    /// Finishes the hash and returns the 32-byte digest.
    public consuming func finalize() -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: SHA256.byteCount) { out, initialized in
            _ = crypto_hash_sha256_final(&state, out.baseAddress!)
            initialized = SHA256.byteCount
        }
    }

    /// The SHA-256 digest of `bytes`.
    public static func hash(_ bytes: some Sequence<UInt8>) -> [UInt8] {
        SodiumRuntime.ensureReady()
        return withContiguous(bytes) { input in
            [UInt8](unsafeUninitializedCapacity: byteCount) { out, initialized in
                _ = crypto_hash_sha256(
                    out.baseAddress!,
                    input.baseAddress?.assumingMemoryBound(to: UInt8.self),
                    UInt64(input.count)
                )
                initialized = byteCount
            }
        }
    }
}

/// BLAKE2b (`crypto_generichash`): Writ's own digest for tokens and key ids (256-bit unless stated), and a
/// keyed MAC when given a key.
public enum BLAKE2b {
    /// Bytes in Writ's standard digest (BLAKE2b-256).
    public static let byteCount = 32

    /// The BLAKE2b digest of `bytes`, `outputByteCount` long (16…64), optionally keyed (16…64-byte key).
    public static func hash(
        _ bytes: some Sequence<UInt8>,
        outputByteCount: Int = byteCount,
        key: SecureBytes? = nil
    ) -> [UInt8] {
        withContiguous(bytes) { hash(buffer: $0, outputByteCount: outputByteCount, key: key) }
    }

    /// The BLAKE2b digest of the bytes in `buffer`.
    public static func hash(
        buffer: UnsafeRawBufferPointer,
        outputByteCount: Int = byteCount,
        key: SecureBytes? = nil
    ) -> [UInt8] {
        SodiumRuntime.ensureReady()
        precondition((Int(crypto_generichash_BYTES_MIN)...Int(crypto_generichash_BYTES_MAX)).contains(outputByteCount))
        return [UInt8](unsafeUninitializedCapacity: outputByteCount) { out, initialized in
            let input = buffer.baseAddress?.assumingMemoryBound(to: UInt8.self)
            if let key {
                key.withUnsafeBytes { k in
                    _ = crypto_generichash(
                        out.baseAddress!,
                        outputByteCount,
                        input,
                        UInt64(buffer.count),
                        k.baseAddress?.assumingMemoryBound(to: UInt8.self),
                        k.count
                    )
                }
            } else {
                _ = crypto_generichash(out.baseAddress!, outputByteCount, input, UInt64(buffer.count), nil, 0)
            }
            initialized = outputByteCount
        }
    }
}
