public import WritCrypto

/// A presenter's proof that it holds the token's holder key: an Ed25519 signature by that key over the token's
/// digest, the request (audience, action, resource), a timestamp and a random nonce.
///
/// Binary form (89 bytes): version `0x01`, timestamp (8 bytes, big-endian milliseconds since the epoch),
/// nonce (16 bytes), signature (64 bytes). Text form: `writp1_` followed by base64url. The signed message is
/// specified in `Docs/TokenFormat.md`.
public struct ProofOfPossession: Hashable, Sendable, CustomStringConvertible {
    /// The binary form's version byte.
    public static let version: UInt8 = 1
    /// The text form's prefix.
    public static let textPrefix = "writp1_"
    /// Bytes in the binary form.
    public static let byteCount = 1 + 8 + ReplayNonce.byteCount + Ed25519.signatureByteCount
    static let tag: [UInt8] = Array("writ.proof.v1\0".utf8)
    /// The tag of a proof bound to a transport request (``TokenRequest/binding``).
    static let boundTag: [UInt8] = Array("writ.bound-proof.v1\0".utf8)

    /// When the proof was made.
    public let timestamp: Timestamp
    /// The random nonce, recorded by the verifier's replay cache.
    public let nonce: ReplayNonce
    /// The 64-byte signature by the holder key.
    public let signature: [UInt8]

    /// Wraps parts of a proof (use ``sign(tokenDigest:request:holderKey:at:nonce:)`` to make one).
    ///
    /// - Throws: ``TokenError/Code/malformed`` when the signature is not 64 bytes.
    public init(timestamp: Timestamp, nonce: ReplayNonce, signature: [UInt8]) throws(TokenError) {
        guard signature.count == Ed25519.signatureByteCount else {
            throw TokenError(.malformed, "a proof signature is 64 bytes")
        }
        self.timestamp = timestamp
        self.nonce = nonce
        self.signature = signature
    }

    /// Signs a proof for presenting the token with digest `tokenDigest` in `request`.
    ///
    /// - Parameters:
    ///   - tokenDigest: The token's ``CapabilityToken/digest``.
    ///   - request: The request the token is presented for.
    ///   - holderKey: The token's current holder key.
    ///   - timestamp: Now, from the presenter's clock.
    ///   - nonce: A fresh random nonce (default).
    public static func sign(
        tokenDigest: TokenDigest,
        request: TokenRequest,
        holderKey: Ed25519.PrivateKey,
        at timestamp: Timestamp,
        nonce: ReplayNonce = .random()
    ) -> ProofOfPossession {
        var message: [UInt8] = []
        writeMessage(into: &message, digest: tokenDigest, request: request, timestamp: timestamp, nonce: nonce)
        // The signature is always 64 bytes.
        return ProofOfPossession(
            trustedTimestamp: timestamp,
            nonce: nonce,
            signature: holderKey.signature(for: message)
        )
    }

    /// Signs a proof for presenting `token` in `request`.
    public static func sign(
        token: CapabilityToken,
        request: TokenRequest,
        holderKey: Ed25519.PrivateKey,
        at timestamp: Timestamp,
        nonce: ReplayNonce = .random()
    ) -> ProofOfPossession {
        sign(tokenDigest: token.digest, request: request, holderKey: holderKey, at: timestamp, nonce: nonce)
    }

    private init(trustedTimestamp: Timestamp, nonce: ReplayNonce, signature: [UInt8]) {
        self.timestamp = trustedTimestamp
        self.nonce = nonce
        self.signature = signature
    }

    /// Whether the signature is valid by `holder` over this token digest, request, timestamp and nonce.
    public func isValid(tokenDigest: TokenDigest, request: TokenRequest, holder: Ed25519.PublicKey) -> Bool {
        let limit = Int(UInt16.max)
        guard request.audience.utf8.count <= limit, request.action.utf8.count <= limit,
            request.resource.utf8.count <= limit,
            request.binding.map({ $0.count == TokenRequest.bindingByteCount }) ?? true
        else {
            return false
        }
        var message: [UInt8] = []
        ProofOfPossession.writeMessage(
            into: &message,
            digest: tokenDigest,
            request: request,
            timestamp: timestamp,
            nonce: nonce
        )
        return holder.isValidSignature(signature, for: message)
    }

    /// The signed message: `writ.proof.v1\0` ‖ digest (32) ‖ audience ‖ action ‖ resource (each a 2-byte
    /// big-endian length and UTF-8 bytes) ‖ timestamp (8 bytes big-endian, ms) ‖ nonce (16). A request with a
    /// ``TokenRequest/binding`` starts with `writ.bound-proof.v1\0` instead and ends with the 32 binding bytes.
    static func writeMessage(
        into m: inout [UInt8],
        digest: TokenDigest,
        request: TokenRequest,
        timestamp: Timestamp,
        nonce: ReplayNonce
    ) {
        m.removeAll(keepingCapacity: true)
        m.reserveCapacity(
            tag.count + 32 + 6 + request.audience.utf8.count + request.action.utf8.count + request.resource.utf8.count
                + 24
        )
        m.append(contentsOf: request.binding == nil ? tag : boundTag)
        m.append(contentsOf: digest.bytes)
        for field in [request.audience, request.action, request.resource] {
            let count = min(field.utf8.count, Int(UInt16.max))
            m.append(UInt8(truncatingIfNeeded: count >> 8))
            m.append(UInt8(truncatingIfNeeded: count))
            m.append(contentsOf: field.utf8.prefix(count))
        }
        appendBigEndian(UInt64(bitPattern: timestamp.millisecondsSinceEpoch), to: &m)
        appendBigEndian(nonce.high, to: &m)
        appendBigEndian(nonce.low, to: &m)
        if let binding = request.binding { m.append(contentsOf: binding) }
    }

    /// The 89-byte binary form.
    public var bytes: [UInt8] {
        var out: [UInt8] = [ProofOfPossession.version]
        out.reserveCapacity(ProofOfPossession.byteCount)
        ProofOfPossession.appendBigEndian(UInt64(bitPattern: timestamp.millisecondsSinceEpoch), to: &out)
        ProofOfPossession.appendBigEndian(nonce.high, to: &out)
        ProofOfPossession.appendBigEndian(nonce.low, to: &out)
        out.append(contentsOf: signature)
        return out
    }

    /// Parses the binary form.
    ///
    /// - Throws: ``TokenError/Code/malformed`` for a wrong length, ``TokenError/Code/unsupportedVersion``
    ///   for another version byte.
    public init(bytes: [UInt8]) throws(TokenError) {
        guard bytes.count == ProofOfPossession.byteCount else {
            throw TokenError(.malformed, "a proof is \(ProofOfPossession.byteCount) bytes, got \(bytes.count)")
        }
        guard bytes[0] == ProofOfPossession.version else {
            throw TokenError(.unsupportedVersion, "proof version \(bytes[0]) is not supported")
        }
        var ms: UInt64 = 0
        for b in bytes[1..<9] { ms = ms << 8 | UInt64(b) }
        timestamp = Timestamp(millisecondsSinceEpoch: Int64(bitPattern: ms))
        nonce = try ReplayNonce(bytes: bytes[9..<25])
        signature = Array(bytes[25...])
    }

    /// The text form, `writp1_` followed by base64url.
    public var text: String { ProofOfPossession.textPrefix + Base64URL.encode(bytes) }

    /// Parses the text form.
    ///
    /// - Throws: ``TokenError/Code/invalidText`` for a wrong prefix or encoding, else as ``init(bytes:)``.
    public init(text: String) throws(TokenError) {
        let utf8 = text.utf8
        guard utf8.count < 256, utf8.starts(with: ProofOfPossession.textPrefix.utf8) else {
            throw TokenError(.invalidText, "proof text must start with '\(ProofOfPossession.textPrefix)'")
        }
        var text = text
        let prefix = ProofOfPossession.textPrefix.utf8.count
        guard let raw = text.withUTF8({ Base64URL.decode(utf8: UnsafeBufferPointer(rebasing: $0[prefix...])) }) else {
            throw TokenError(.invalidText, "proof text is not canonical base64url")
        }
        try self.init(bytes: raw)
    }

    public var description: String { "ProofOfPossession(at: \(timestamp), nonce: \(nonce))" }

    @inline(__always)
    static func appendBigEndian(_ value: UInt64, to out: inout [UInt8]) {
        for shift in stride(from: 56, through: 0, by: -8) {
            out.append(UInt8(truncatingIfNeeded: value >> UInt64(shift)))
        }
    }
}
