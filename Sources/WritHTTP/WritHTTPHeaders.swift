#if HTTP
public import WritCrypto
public import WritIdentity
public import WritTokens

/// The credential and proof a request carries, read from its headers by the rules of `Docs/HTTPBinding.md` §1.
///
/// Parsing is strict and total: a duplicate, oversized or empty Writ header, another scheme, or a Writ
/// credential anywhere else is ``WritHTTPError/Code/malformedHeader``; no `Authorization` header at all is
/// ``WritHTTPError/Code/credentialsMissing``. Nothing here verifies a signature. The description is redacted.
public struct WritPresentation: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The authentication scheme, `Writ`.
    public static let scheme = "Writ"
    /// The `Authorization` header's name.
    public static let authorizationHeader = "Authorization"
    /// The proof header's name.
    public static let proofHeader = "Writ-Proof"
    /// The largest `Authorization` value accepted, in bytes.
    public static let maximumAuthorizationBytes = 16_384
    /// The largest `Writ-Proof` value accepted, in bytes.
    public static let maximumProofBytes = 255
    /// The largest header block (names and values) accepted, in bytes.
    public static let maximumHeaderBytes = 32_768

    /// The credential text (`writ1_…`, `writid1_…` or `writkey1_…`).
    public let credential: String
    /// The proof text (`writp1_…`), or `nil` when the request had none (a denial, not a parse error).
    public let proof: String?

    /// Reads the credential and proof from a request's header fields and query.
    ///
    /// - Parameters:
    ///   - headers: every header field as received, in order (names compared case-insensitively).
    ///   - query: the request target's query, if any (a Writ credential there is refused).
    /// - Throws: ``WritHTTPError`` with ``WritHTTPError/Code/credentialsMissing`` or
    ///   ``WritHTTPError/Code/malformedHeader``.
    public init(headers: some Sequence<(name: String, value: String)>, query: String? = nil) throws(WritHTTPError) {
        var authorization: [String] = []
        var proofs: [String] = []
        var total = 0
        for (name, value) in headers {
            total = total &+ name.utf8.count &+ value.utf8.count
            guard total <= Self.maximumHeaderBytes else {
                throw WritHTTPError(
                    .malformedHeader,
                    "the header block is larger than \(Self.maximumHeaderBytes) bytes"
                )
            }
            if Self.equalsIgnoringCase(name, Self.authorizationHeader) {
                authorization.append(value)
            } else if Self.equalsIgnoringCase(name, Self.proofHeader) {
                proofs.append(value)
            } else if Self.containsWritCredential(value) {
                throw WritHTTPError(.malformedHeader, "a Writ credential was sent in header '\(Self.clipped(name))'")
            }
        }
        if let query, Self.containsWritCredential(query) {
            throw WritHTTPError(.malformedHeader, "a Writ credential was sent in the query string")
        }
        guard proofs.count <= 1 else { throw WritHTTPError(.malformedHeader, "more than one Writ-Proof header") }
        guard authorization.count <= 1 else {
            throw WritHTTPError(.malformedHeader, "more than one Authorization header")
        }
        guard let header = authorization.first else {
            if let proof = proofs.first, Self.containsWritCredential(proof) {
                throw WritHTTPError(.malformedHeader, "a Writ credential was sent in the Writ-Proof header")
            }
            throw WritHTTPError(.credentialsMissing, "no Authorization header")
        }
        credential = try Self.credential(fromAuthorization: header)
        if let proof = proofs.first {
            let trimmed = Self.trimmed(proof)
            guard !trimmed.isEmpty, trimmed.utf8.count <= Self.maximumProofBytes else {
                throw WritHTTPError(
                    .malformedHeader,
                    "the Writ-Proof header is empty or longer than \(Self.maximumProofBytes) bytes"
                )
            }
            guard trimmed.hasPrefix(ProofOfPossession.textPrefix) else {
                throw WritHTTPError(.malformedHeader, "the Writ-Proof header does not hold a writp1_ proof")
            }
            self.proof = trimmed
        } else {
            self.proof = nil
        }
    }

    /// Creates a presentation from its parts (for clients building headers).
    public init(credential: String, proof: String) {
        self.credential = credential
        self.proof = proof
    }

    /// The header fields a client sends: `Authorization: Writ <credential>` and `Writ-Proof: <proof>`.
    public var headerFields: [(name: String, value: String)] {
        var fields = [(name: Self.authorizationHeader, value: "\(Self.scheme) \(credential)")]
        if let proof { fields.append((name: Self.proofHeader, value: proof)) }
        return fields
    }

    public var description: String { "WritPresentation(<redacted>)" }
    public var debugDescription: String { description }

    // MARK: Parsing

    static func credential(fromAuthorization header: String) throws(WritHTTPError) -> String {
        guard header.utf8.count <= maximumAuthorizationBytes else {
            throw WritHTTPError(
                .malformedHeader,
                "the Authorization header is longer than \(maximumAuthorizationBytes) bytes"
            )
        }
        let value = trimmed(header)
        let utf8 = Array(value.utf8)
        guard let space = utf8.firstIndex(of: UInt8(ascii: " ")) else {
            throw WritHTTPError(.malformedHeader, "the Authorization header is not '\(scheme) <credential>'")
        }
        let schemeText = String(decoding: utf8[..<space], as: UTF8.self)
        guard equalsIgnoringCase(schemeText, scheme) else {
            throw WritHTTPError(
                .malformedHeader,
                containsWritCredential(value)
                    ? "a Writ credential was sent with the '\(clipped(schemeText))' scheme, not '\(scheme)'"
                    : "the Authorization scheme is '\(clipped(schemeText))', not '\(scheme)'"
            )
        }
        let rest = utf8[(space + 1)...]
        // token68: base64url and the underscore of our prefixes; no spaces, no parameters.
        guard !rest.isEmpty, rest.allSatisfy(isCredentialByte) else {
            throw WritHTTPError(.malformedHeader, "the Writ credential is empty or has characters outside base64url")
        }
        let credential = String(decoding: rest, as: UTF8.self)
        guard WritCredential.Kind(prefixOf: credential) != nil else {
            throw WritHTTPError(
                .malformedHeader,
                "the Writ credential has no known prefix (writ1_, writid1_, writkey1_)"
            )
        }
        return credential
    }

    static func isCredentialByte(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b == 0x2d || b == 0x5f
    }

    static func containsWritCredential(_ text: String) -> Bool {
        // Cheap scan for any of our prefixes (a credential in the wrong place is refused, never used).
        guard text.utf8.count >= 6 else { return false }
        return text.contains("writ1_") || text.contains("writid1_") || text.contains("writkey1_")
    }

    static func trimmed(_ text: String) -> String {
        var utf8 = Substring(text).utf8
        while let first = utf8.first, first == 0x20 || first == 0x09 { utf8 = utf8.dropFirst() }
        while let last = utf8.last, last == 0x20 || last == 0x09 { utf8 = utf8.dropLast() }
        return String(Substring(utf8))
    }

    static func equalsIgnoringCase(_ a: String, _ b: String) -> Bool {
        a.utf8.count == b.utf8.count && zip(a.utf8, b.utf8).allSatisfy { lower($0) == lower($1) }
    }

    private static func lower(_ b: UInt8) -> UInt8 { b >= 0x41 && b <= 0x5a ? b | 0x20 : b }

    static func clipped(_ text: String) -> String {
        text.utf8.count <= 64 ? text : String(decoding: text.utf8.prefix(60), as: UTF8.self) + "…"
    }
}

/// A Writ credential as carried in `Authorization: Writ <credential>`: a capability token, an identity
/// document, or a bare public key (`Docs/HTTPBinding.md` §1).
public enum WritCredential: Sendable, Hashable, CustomStringConvertible {
    /// A capability token (`writ1_…`), for resource services.
    case token(CapabilityToken)
    /// An agent's identity document (`writid1_…`), for the authority's agent routes.
    case identity(IdentityDocument)
    /// A bare Ed25519 key (`writkey1_…`): attestation, operators and services at the authority.
    case key(Ed25519.PublicKey)

    /// The prefix of a bare key's text form.
    public static let keyPrefix = "writkey1_"

    /// Which kind a credential text is, by its prefix.
    public enum Kind: Sendable, Hashable {
        /// `writ1_`.
        case token
        /// `writid1_`.
        case identity
        /// `writkey1_`.
        case key

        /// The kind of `text`, or `nil` for an unknown prefix.
        public init?(prefixOf text: String) {
            if text.hasPrefix(TokenFormat.textPrefix) {
                self = .token
            } else if text.hasPrefix(IdentityDocument.textPrefix) {
                self = .identity
            } else if text.hasPrefix(WritCredential.keyPrefix) {
                self = .key
            } else {
                return nil
            }
        }
    }

    /// Parses a credential's text form.
    ///
    /// - Throws: ``WritHTTPError/Code/malformedHeader`` naming what does not decode.
    public init(text: String) throws(WritHTTPError) {
        switch Kind(prefixOf: text) {
        case .token:
            do { self = .token(try CapabilityToken(text: text)) } catch {
                throw WritHTTPError(.malformedHeader, "the token does not decode: \(error.code)")
            }
        case .identity:
            do { self = .identity(try IdentityDocument(text: text)) } catch {
                throw WritHTTPError(.malformedHeader, "the identity document does not decode: \(error.code)")
            }
        case .key:
            guard let raw = Base64URL.decode(String(text.dropFirst(Self.keyPrefix.count))),
                let key = try? Ed25519.PublicKey(rawRepresentation: raw)
            else {
                throw WritHTTPError(.malformedHeader, "the key is not base64url of a 32-byte Ed25519 key")
            }
            self = .key(key)
        case nil:
            throw WritHTTPError(.malformedHeader, "the credential has no known prefix")
        }
    }

    /// The text form.
    public var text: String {
        switch self {
        case .token(let token): token.text
        case .identity(let document): document.text
        case .key(let key): Self.keyPrefix + Base64URL.encode(key.rawRepresentation)
        }
    }

    /// The binary form whose BLAKE2b-256 the proof signs.
    public var bytes: [UInt8] {
        switch self {
        case .token(let token): token.bytes
        case .identity(let document): document.bytes
        case .key(let key): key.rawRepresentation
        }
    }

    /// The digest the proof signs (`Docs/HTTPBinding.md` §2).
    public var digest: TokenDigest { TokenDigest.of(bytes) }

    /// The key that must sign proofs: the token's holder, the document's key, or the bare key.
    public var holderKey: Ed25519.PublicKey {
        switch self {
        case .token(let token): token.holder
        case .identity(let document): document.publicKey
        case .key(let key): key
        }
    }

    public var description: String {
        switch self {
        case .token(let token): "token \(token.id)"
        case .identity(let document): "identity \(document.identity)"
        case .key(let key): "key \(key.keyID)"
        }
    }
}
#endif
