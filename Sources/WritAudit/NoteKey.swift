public import WritCrypto

/// Signed-note verifier keys (C2SP signed-note): `<name>+<hex key hash>+<base64(type ‖ public key)>`, where the
/// key hash is the first 4 bytes of `SHA-256(name ‖ "\n" ‖ type ‖ public key)` and the type is `0x01` for
/// Ed25519 log keys, `0x04` for tlog-cosignature witness keys.
public enum NoteKey {
    static let ed25519: UInt8 = 0x01
    static let cosignature: UInt8 = 0x04

    static func keyHash(name: String, type: UInt8, key: Ed25519.PublicKey) -> UInt32 {
        var input = Array(name.utf8)
        input.append(0x0a)
        input.append(type)
        input.append(contentsOf: key.rawRepresentation)
        return SHA256.hash(input)[0..<4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
    }

    /// The verifier-key text for a log key (`witness: false`) or a witness cosigning key (`witness: true`).
    public static func verifierKey(name: String, key: Ed25519.PublicKey, witness: Bool = false) -> String {
        let type = witness ? cosignature : ed25519
        let hash = keyHash(name: name, type: type, key: key)
        let hex = String(hash, radix: 16)
        let paddedHex = String(repeating: "0", count: 8 - hex.count) + hex
        return "\(name)+\(paddedHex)+\(Base64Standard.encode([type] + key.rawRepresentation))"
    }

    /// Parses verifier-key text, checking that its key hash matches.
    ///
    /// - Throws: ``AuditError/Code/invalidEncoding`` for anything malformed or an unknown key type.
    public static func parse(_ text: String) throws -> (name: String, key: Ed25519.PublicKey, witness: Bool) {
        let parts = text.split(separator: "+", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, parts[1].utf8.count == 8, let hash = UInt32(parts[1], radix: 16),
            let raw = Base64Standard.decode(parts[2]), raw.count == 33, raw[0] == ed25519 || raw[0] == cosignature
        else { throw AuditError(.invalidEncoding, "not a signed-note verifier key") }
        let key = try Ed25519.PublicKey(rawRepresentation: raw[1...])
        guard keyHash(name: String(parts[0]), type: raw[0], key: key) == hash else {
            throw AuditError(.invalidEncoding, "verifier key hash does not match its key")
        }
        return (String(parts[0]), key, raw[0] == cosignature)
    }
}
