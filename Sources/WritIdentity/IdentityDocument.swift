public import WritCrypto

/// A statement by a trusted issuer that binds an agent identity to the agent's public key until an expiry,
/// optionally naming the agent's class and its supervisor (the agent that started it).
///
/// Binary form (version 1): version `0x01`, identity (length-prefixed SPIFFE ID without `spiffe://`), public
/// key (32), issuer key id (8), issued-at (varint seconds), lifetime (varint seconds, ≥ 1), flags (bit 0:
/// supervisor present, bit 1: class present, others zero), [supervisor], [class], signature (64) over
/// `writ.identity-document.v1\0` followed by every preceding byte. Text form: `writid1_` + base64url.
public struct IdentityDocument: Hashable, Sendable, CustomStringConvertible {
    /// The format version.
    public static let version: UInt8 = 1
    /// The text form's prefix.
    public static let textPrefix = "writid1_"
    static let tag: [UInt8] = Array("writ.identity-document.v1\0".utf8)
    static let maximumBytes = 8192

    /// The agent's identity.
    public let identity: AgentIdentity
    /// The agent's public key.
    public let publicKey: Ed25519.PublicKey
    /// The agent's class name, if stated.
    public let agentClass: String?
    /// The supervising agent's identity, for sub-agents.
    public let supervisor: AgentIdentity?
    /// The id of the issuer key that signed the document.
    public let issuerKeyID: KeyID
    /// When the document was issued (whole seconds).
    public let issuedAt: Timestamp
    /// When the document expires (whole seconds).
    public let expiresAt: Timestamp
    /// The issuer's 64-byte signature.
    public let signature: [UInt8]
    /// The exact binary form.
    public let bytes: [UInt8]

    /// Issues a document signed by `issuerKey`. Times are rounded down to whole seconds.
    ///
    /// - Throws: ``IdentityError/Code/malformed`` when the expiry is not after the issue time or a value cannot
    ///   be encoded, ``IdentityError/Code/invalidAgentClass`` for an invalid class name.
    public static func issue(
        identity: AgentIdentity,
        publicKey: Ed25519.PublicKey,
        agentClass: String? = nil,
        supervisor: AgentIdentity? = nil,
        issuedAt: Timestamp,
        expiresAt: Timestamp,
        issuerKey: some Signer
    ) throws(IdentityError) -> IdentityDocument {
        let issued = issuedAt.secondsSinceEpoch
        let expires = expiresAt.secondsSinceEpoch
        guard issued >= 0, issued < 1 << 40, expires > issued, expires - issued <= Int64(UInt32.max) else {
            throw IdentityError(.malformed, "expiry must be after the issue time (whole seconds)")
        }
        if let agentClass, !AgentClass.isValidName(agentClass) {
            throw IdentityError(.invalidAgentClass, "'\(agentClass)' is not a valid class name")
        }
        var out: [UInt8] = [version]
        out.appendString(identity.wireForm)
        out.append(contentsOf: publicKey.rawRepresentation)
        out.append(contentsOf: issuerKey.publicKey.keyID.bytes)
        out.appendVarint(UInt64(issued))
        out.appendVarint(UInt64(expires - issued))
        out.append((supervisor == nil ? 0 : 1) | (agentClass == nil ? 0 : 2))
        if let supervisor { out.appendString(supervisor.wireForm) }
        if let agentClass { out.appendString(Array(agentClass.utf8)) }
        let signature: [UInt8]
        do {
            signature = try issuerKey.signature(for: tag + out)
        } catch {
            throw IdentityError(.signingFailed, "the issuer's signer failed: \(error)")
        }
        guard signature.count == Ed25519.signatureByteCount else {
            throw IdentityError(
                .signingFailed,
                "the issuer's signer returned \(signature.count) bytes, not a signature"
            )
        }
        out.append(contentsOf: signature)
        return try IdentityDocument(bytes: out)
    }

    /// Parses the binary form (no signature check; see ``verify(trustBundle:at:clockSkew:)``).
    ///
    /// - Throws: ``IdentityError/Code/malformed`` or ``IdentityError/Code/unsupportedVersion``.
    public init(bytes: [UInt8]) throws(IdentityError) {
        guard bytes.count <= IdentityDocument.maximumBytes else {
            throw IdentityError(.malformed, "identity document is too large")
        }
        var r = IdentityReader(bytes)
        let version = try r.byte("version")
        guard version == IdentityDocument.version else {
            throw IdentityError(.unsupportedVersion, "identity document version \(version) is not supported")
        }
        identity = try IdentityDocument.readIdentity(&r, "identity")
        guard let key = try? Ed25519.PublicKey(rawRepresentation: try r.fixed(Ed25519.publicKeyByteCount, "public key"))
        else {
            throw r.fail("public key")
        }
        publicKey = key
        guard let keyID = try? KeyID(bytes: try r.fixed(KeyID.byteCount, "issuer key id")) else {
            throw r.fail("issuer key id")
        }
        issuerKeyID = keyID
        let issued = try r.varint("issued-at", maximum: 1 << 40)
        let lifetime = try r.varint("lifetime", maximum: UInt64(UInt32.max))
        guard lifetime > 0 else { throw r.fail("lifetime is zero") }
        issuedAt = Timestamp(secondsSinceEpoch: Int64(issued))
        expiresAt = Timestamp(secondsSinceEpoch: Int64(issued + lifetime))
        let flags = try r.byte("flags")
        guard flags & 0xfc == 0 else { throw r.fail("reserved flag bits are set") }
        supervisor = flags & 1 != 0 ? try IdentityDocument.readIdentity(&r, "supervisor") : nil
        if flags & 2 != 0 {
            let name = String(
                decoding: try r.string("agent class", maximumLength: AgentClass.maximumNameLength),
                as: UTF8.self
            )
            guard AgentClass.isValidName(name) else { throw r.fail("agent class is not a valid class name") }
            agentClass = name
        } else {
            agentClass = nil
        }
        signature = Array(try r.fixed(Ed25519.signatureByteCount, "signature"))
        guard r.isAtEnd else { throw r.fail("trailing bytes after the signature") }
        self.bytes = bytes
    }

    private static func readIdentity(_ r: inout IdentityReader, _ what: String) throws(IdentityError) -> AgentIdentity {
        let raw = try r.string(what, maximumLength: AgentIdentity.maximumLength)
        do {
            return try AgentIdentity(wireForm: raw)
        } catch {
            throw IdentityError(.malformed, "\(what) is not a valid SPIFFE ID (\(error.code))")
        }
    }

    /// Parses the text form.
    ///
    /// - Throws: ``IdentityError/Code/malformed`` for a wrong prefix or encoding, else as ``init(bytes:)``.
    public init(text: String) throws(IdentityError) {
        let utf8 = text.utf8
        guard utf8.count <= 12_000, utf8.starts(with: IdentityDocument.textPrefix.utf8),
            let raw = Base64URL.decode(
                String(decoding: utf8.dropFirst(IdentityDocument.textPrefix.utf8.count), as: UTF8.self)
            )
        else {
            throw IdentityError(
                .malformed,
                "identity document text must be '\(IdentityDocument.textPrefix)' + base64url"
            )
        }
        try self.init(bytes: raw)
    }

    /// The text form, `writid1_` + base64url.
    public var text: String { IdentityDocument.textPrefix + Base64URL.encode(bytes) }

    /// Verifies the document: the issuer key is trusted and was valid at the issue time, the signature is
    /// valid, and `now` lies in `[issuedAt − skew, expiresAt + skew)`.
    ///
    /// - Throws: ``IdentityError`` with ``IdentityError/Code/unknownIssuerKey``,
    ///   ``IdentityError/Code/issuerKeyNotValid``, ``IdentityError/Code/invalidSignature``,
    ///   ``IdentityError/Code/notYetValid`` or ``IdentityError/Code/expired``.
    public func verify(
        trustBundle: TrustBundle,
        at now: Timestamp,
        clockSkew: Duration = .seconds(30)
    ) throws(IdentityError) {
        guard let issuer = trustBundle.key(for: issuerKeyID) else {
            throw IdentityError(.unknownIssuerKey, "issuer key \(issuerKeyID) is not in the trust bundle")
        }
        guard issuer.accepts(issuedAt: issuedAt) else {
            throw IdentityError(.issuerKeyNotValid, "issuer key \(issuerKeyID) was not valid at \(issuedAt)")
        }
        let signed = IdentityDocument.tag + bytes.dropLast(Ed25519.signatureByteCount)
        guard issuer.publicKey.isValidSignature(signature, for: signed) else {
            throw IdentityError(
                .invalidSignature,
                "identity document signature does not verify with key \(issuerKeyID)"
            )
        }
        guard issuedAt <= now.advanced(by: clockSkew) else {
            throw IdentityError(.notYetValid, "identity document issued at \(issuedAt), in the future")
        }
        guard now < expiresAt.advanced(by: clockSkew) else {
            throw IdentityError(.expired, "identity document expired at \(expiresAt)")
        }
    }

    public var description: String {
        "IdentityDocument(\(identity), key \(publicKey.keyID), until \(expiresAt)\(supervisor.map { ", supervisor \($0)" } ?? ""))"
    }
}
