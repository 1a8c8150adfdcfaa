import CSodium

/// Authenticated encryption for secrets at rest: XChaCha20-Poly1305 (`crypto_aead_xchacha20poly1305_ietf`)
/// with a random 24-byte nonce stored in front of the ciphertext.
public enum SecretBox {
    /// Bytes in a key.
    public static let keyByteCount = Int(crypto_aead_xchacha20poly1305_ietf_KEYBYTES)
    static let nonceByteCount = Int(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES)
    static let tagByteCount = Int(crypto_aead_xchacha20poly1305_ietf_ABYTES)

    /// Makes a new random key.
    public static func makeKey() -> SecureBytes { SecureBytes.random(count: keyByteCount) }

    /// Encrypts `plaintext` under `key`, binding `associatedData` (authenticated, not encrypted).
    ///
    /// - Returns: nonce ‖ ciphertext ‖ tag.
    public static func seal(_ plaintext: SecureBytes, key: SecureBytes, associatedData: [UInt8] = []) throws -> [UInt8]
    {
        SodiumRuntime.ensureReady()
        guard key.count == keyByteCount else {
            throw CryptoError(.invalidLength, "secret box key must be \(keyByteCount) bytes, got \(key.count)")
        }
        let nonce = SecureRandom.bytes(count: nonceByteCount)
        var out = nonce + [UInt8](repeating: 0, count: plaintext.count + tagByteCount)
        var written: UInt64 = 0
        out.withUnsafeMutableBufferPointer { buffer in
            plaintext.withUnsafeBytes { message in
                key.withUnsafeBytes { k in
                    associatedData.withUnsafeBufferPointer { ad in
                        _ = crypto_aead_xchacha20poly1305_ietf_encrypt(
                            buffer.baseAddress! + nonceByteCount,
                            &written,
                            message.baseAddress?.assumingMemoryBound(to: UInt8.self),
                            UInt64(message.count),
                            ad.baseAddress,
                            UInt64(ad.count),
                            nil,
                            buffer.baseAddress!,
                            k.baseAddress!.assumingMemoryBound(to: UInt8.self)
                        )
                    }
                }
            }
        }
        return out
    }

    /// Decrypts a box made by ``seal(_:key:associatedData:)``.
    ///
    /// - Throws: ``CryptoError/Code/authenticationFailed`` if the key, associated data or box is wrong.
    public static func open(_ box: [UInt8], key: SecureBytes, associatedData: [UInt8] = []) throws -> SecureBytes {
        SodiumRuntime.ensureReady()
        guard key.count == keyByteCount else {
            throw CryptoError(.invalidLength, "secret box key must be \(keyByteCount) bytes, got \(key.count)")
        }
        guard box.count >= nonceByteCount + tagByteCount else {
            throw CryptoError(.authenticationFailed, "sealed box is too short (\(box.count) bytes)")
        }
        let plainCount = box.count - nonceByteCount - tagByteCount
        var status: Int32 = -1
        let plaintext = SecureBytes(count: plainCount) { out in
            box.withUnsafeBufferPointer { input in
                key.withUnsafeBytes { k in
                    associatedData.withUnsafeBufferPointer { ad in
                        var written: UInt64 = 0
                        status = crypto_aead_xchacha20poly1305_ietf_decrypt(
                            out.baseAddress!.assumingMemoryBound(to: UInt8.self),
                            &written,
                            nil,
                            input.baseAddress! + nonceByteCount,
                            UInt64(box.count - nonceByteCount),
                            ad.baseAddress,
                            UInt64(ad.count),
                            input.baseAddress!,
                            k.baseAddress!.assumingMemoryBound(to: UInt8.self)
                        )
                    }
                }
            }
        }
        guard status == 0 else {
            throw CryptoError(.authenticationFailed, "sealed box failed authentication (wrong key or tampered bytes)")
        }
        return plaintext
    }
}
