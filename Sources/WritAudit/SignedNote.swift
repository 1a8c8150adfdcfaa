public import WritCrypto

/// A C2SP signed note carrying a ``LogCheckpoint``: the checkpoint body, a blank line, then one line per signature,
/// `— <key name> <base64(4-byte key hash ‖ signature)>`.
///
/// Two signature types are produced and checked:
/// - the log's own Ed25519 signature (note signature type `0x01`) over the body;
/// - witness cosignatures (C2SP tlog-cosignature, type `0x04`), an Ed25519 signature over
///   `cosignature/v1\ntime <seconds>\n` followed by the body, with the 8-byte timestamp before the signature.
///
/// Signature lines from unknown keys are kept and ignored, as the signed-note spec requires.
public struct SignedCheckpoint: Sendable, Hashable {
    /// One signature line.
    public struct Signature: Sendable, Hashable {
        /// The signer's key name.
        public let name: String
        /// The 4-byte key hash that names the key (big-endian).
        public let keyHash: UInt32
        /// The bytes after the key hash: a 64-byte signature, or for a cosignature an 8-byte timestamp then it.
        public let bytes: [UInt8]
    }

    /// The signed checkpoint.
    public let checkpoint: LogCheckpoint
    /// Every signature line, in order.
    public let signatures: [Signature]

    init(checkpoint: LogCheckpoint, signatures: [Signature]) {
        self.checkpoint = checkpoint
        self.signatures = signatures
    }

    /// Signs `checkpoint` as the log named `name` (usually the checkpoint's origin).
    public static func sign(_ checkpoint: LogCheckpoint, name: String, key: Ed25519.PrivateKey) -> SignedCheckpoint {
        let signature = key.signature(for: Array(checkpoint.body.utf8))
        let line = Signature(
            name: name,
            keyHash: NoteKey.keyHash(name: name, type: NoteKey.ed25519, key: key.publicKey),
            bytes: signature
        )
        return SignedCheckpoint(checkpoint: checkpoint, signatures: [line])
    }

    /// This checkpoint with a witness cosignature added (C2SP tlog-cosignature/v1).
    ///
    /// A witness should cosign only after checking the log's signature and that the checkpoint is consistent with
    /// the last one it cosigned for this origin (``AuditLog/cosign(_:logKey:consistencyProof:)`` does both).
    public func cosigned(by name: String, key: Ed25519.PrivateKey, at time: Timestamp) -> SignedCheckpoint {
        let ms = time.millisecondsSinceEpoch
        let seconds = ms <= 0 ? 0 : UInt64(ms / 1000)  // total for every Int64, unlike secondsSinceEpoch
        let message = Self.cosignatureMessage(body: checkpoint.body, seconds: seconds)
        var bytes = [UInt8]()
        EntryCodec.appendUInt64(seconds, to: &bytes)
        bytes.append(contentsOf: key.signature(for: message))
        let line = Signature(
            name: name,
            keyHash: NoteKey.keyHash(name: name, type: NoteKey.cosignature, key: key.publicKey),
            bytes: bytes
        )
        return SignedCheckpoint(checkpoint: checkpoint, signatures: signatures + [line])
    }

    static func cosignatureMessage(body: String, seconds: UInt64) -> [UInt8] {
        Array("cosignature/v1\ntime \(seconds)\n\(body)".utf8)
    }

    /// Whether the log key `key` named `name` signed this checkpoint.
    public func isSigned(by name: String, key: Ed25519.PublicKey) -> Bool {
        let hash = NoteKey.keyHash(name: name, type: NoteKey.ed25519, key: key)
        let message = Array(checkpoint.body.utf8)
        return signatures.contains {
            $0.name == name && $0.keyHash == hash && $0.bytes.count == 64
                && key.isValidSignature($0.bytes, for: message)
        }
    }

    /// Whether the witness key `key` named `name` cosigned this checkpoint.
    public func isCosigned(by name: String, key: Ed25519.PublicKey) -> Bool {
        let hash = NoteKey.keyHash(name: name, type: NoteKey.cosignature, key: key)
        return signatures.contains { line in
            guard line.name == name, line.keyHash == hash, line.bytes.count == 72 else { return false }
            var seconds: UInt64 = 0
            for b in line.bytes[0..<8] { seconds = seconds << 8 | UInt64(b) }
            let message = Self.cosignatureMessage(body: checkpoint.body, seconds: seconds)
            return key.isValidSignature(line.bytes[8...], for: message)
        }
    }

    /// Checks the log's signature, throwing when it is missing or wrong.
    ///
    /// - Throws: ``AuditError/Code/invalidSignature``.
    public func verify(name: String, key: Ed25519.PublicKey) throws {
        guard isSigned(by: name, key: key) else {
            throw AuditError(
                .invalidSignature,
                "checkpoint for '\(checkpoint.origin)' size \(checkpoint.size) has no valid signature by "
                    + "'\(name)' (\(key.keyID))"
            )
        }
    }

    /// The signed-note text.
    public var text: String {
        var out = checkpoint.body + "\n"
        for s in signatures {
            var raw = [UInt8]()
            raw.append(contentsOf: withUnsafeBytes(of: s.keyHash.bigEndian) { Array($0) })
            raw.append(contentsOf: s.bytes)
            out += "\u{2014} \(s.name) \(Base64Standard.encode(raw))\n"
        }
        return out
    }

    /// Parses signed-note text strictly: a body, one blank line, then at least one well-formed signature line.
    ///
    /// - Throws: ``AuditError/Code/invalidEncoding`` naming what was wrong. Parsing checks no signature: call
    ///   ``verify(name:key:)``.
    public init(text: String) throws {
        guard text.utf8.count <= 1 << 20 else { throw AuditError(.oversized, "signed note larger than 1 MiB") }
        guard let split = text.ranges(of: "\n\n").last else {
            throw AuditError(.invalidEncoding, "signed note has no blank line before its signatures")
        }
        let body = String(text[..<split.lowerBound]) + "\n"
        let signatureText = String(text[split.upperBound...])
        guard signatureText.hasSuffix("\n") else {
            throw AuditError(.invalidEncoding, "signed note must end with a newline")
        }
        var lines = signatureText.split(separator: "\n", omittingEmptySubsequences: false)
        lines.removeLast()
        guard !lines.isEmpty else { throw AuditError(.invalidEncoding, "signed note has no signatures") }
        var signatures: [Signature] = []
        for line in lines {
            let parts = line.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 3, parts[0] == "\u{2014}", !parts[1].isEmpty,
                let raw = Base64Standard.decode(parts[2]),
                raw.count > 4
            else { throw AuditError(.invalidEncoding, "malformed signature line") }
            let hash = raw[0..<4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            signatures.append(Signature(name: String(parts[1]), keyHash: hash, bytes: Array(raw[4...])))
        }
        self.init(checkpoint: try LogCheckpoint(body: body), signatures: signatures)
    }
}
