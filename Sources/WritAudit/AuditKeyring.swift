public import WritCrypto

/// The public keys a verifier trusts: log keys (whose signatures cover entries) and witness keys (whose
/// cosignatures show that a checkpoint was seen elsewhere).
///
/// A verifier checks signatures only against keys it was given this way — never against a key read from the log or
/// from a checkpoint — so a checkpoint signed by any other key is reported as unverified and covers nothing.
public struct AuditKeyring: Sendable, Hashable {
    /// One trusted key.
    public struct Key: Sendable, Hashable {
        /// The signed-note key name: the log's origin (its service) or the witness's name; `nil` for a bare log key,
        /// which then counts for a checkpoint under the checkpoint's own origin.
        public let name: String?
        /// The Ed25519 public key.
        public let key: Ed25519.PublicKey
        /// Whether it is a witness cosigning key (tlog-cosignature) rather than a log key.
        public let isWitness: Bool
    }

    /// The trusted keys, in the order added.
    public private(set) var keys: [Key] = []

    /// An empty keyring: a verifier given it checks no signature and says so.
    public init() {}

    /// A keyring trusting one log key.
    ///
    /// - Parameters:
    ///   - logKey: the log's public key.
    ///   - name: its signed-note key name (the log's service); `nil` to accept it under any checkpoint's origin.
    public init(logKey: Ed25519.PublicKey, name: String? = nil) {
        add(logKey: logKey, name: name)
    }

    /// Whether no key was given.
    public var isEmpty: Bool { keys.isEmpty }

    /// Whether any log key was given.
    public var hasLogKeys: Bool { keys.contains { !$0.isWitness } }

    /// Trusts a log key.
    public mutating func add(logKey: Ed25519.PublicKey, name: String? = nil) {
        keys.append(Key(name: name, key: logKey, isWitness: false))
    }

    /// Trusts a witness cosigning key named `name`.
    public mutating func add(witnessKey: Ed25519.PublicKey, name: String) {
        keys.append(Key(name: name, key: witnessKey, isWitness: true))
    }

    /// Trusts a signed-note verifier key (`<name>+<hash>+<base64(type ‖ key)>`, from ``NoteKey/verifierKey(name:key:witness:)``):
    /// type `0x01` as a log key, `0x04` as a witness key.
    ///
    /// - Throws: ``AuditError/Code/invalidEncoding`` when `text` is not a verifier key.
    public mutating func add(verifierKey text: String) throws {
        let parsed = try NoteKey.parse(text)
        keys.append(Key(name: parsed.name, key: parsed.key, isWitness: parsed.witness))
    }

    /// The verified log signatures on `signed` (as key ids `<name>+<hash>`), and the ids of signature lines by keys
    /// not in this keyring. A line that names a trusted key but does not verify is returned in `invalid`.
    func checkLogSignatures(
        _ signed: SignedCheckpoint
    ) -> (verified: [String], unknown: [String], invalid: [String]) {
        let origin = signed.checkpoint.origin
        var verified: [String] = []
        var invalid: [String] = []
        var matchedLines = Set<Int>()
        for trusted in keys where !trusted.isWitness {
            let name = trusted.name ?? origin
            guard name == origin else { continue }
            let hash = NoteKey.keyHash(name: name, type: NoteKey.ed25519, key: trusted.key)
            for (i, line) in signed.signatures.enumerated() where line.name == name && line.keyHash == hash {
                matchedLines.insert(i)
                if signed.isSigned(by: name, key: trusted.key) {
                    verified.append(Self.keyID(name: name, hash: hash))
                } else {
                    invalid.append(Self.keyID(name: name, hash: hash))
                }
            }
        }
        var unknown: [String] = []
        for (i, line) in signed.signatures.enumerated() where !matchedLines.contains(i) {
            let isWitnessLine = keys.contains { trusted in
                trusted.isWitness && trusted.name == line.name
                    && NoteKey.keyHash(name: line.name, type: NoteKey.cosignature, key: trusted.key) == line.keyHash
            }
            if !isWitnessLine { unknown.append(Self.keyID(name: line.name, hash: line.keyHash)) }
        }
        return (Array(Set(verified)).sorted(), unknown, Array(Set(invalid)).sorted())
    }

    /// The names of trusted witnesses whose cosignature on `signed` verifies.
    func witnesses(of signed: SignedCheckpoint) -> [String] {
        keys.filter(\.isWitness).compactMap { trusted in
            guard let name = trusted.name, signed.isCosigned(by: name, key: trusted.key) else { return nil }
            return name
        }
    }

    /// A signed-note key id, `<name>+<8 hex digits>`.
    static func keyID(name: String, hash: UInt32) -> String {
        let hex = String(hash, radix: 16)
        return "\(name)+\(String(repeating: "0", count: 8 - hex.count))\(hex)"
    }
}
