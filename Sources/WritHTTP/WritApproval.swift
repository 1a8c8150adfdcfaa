#if HTTP
public import WritCrypto
public import WritTokens

/// A human's (or an approval system's) signed approval of one checkpointed request, carried in a
/// `Writ-Approval` header (`Docs/HTTPBinding.md` §10).
///
/// An approval names the checkpoint's approval (`context.approvals` entry, e.g. `merge`) and is bound to the
/// service's audience, the action, the resource, the exact token it may be presented with (its
/// ``TokenDigest``) and a short validity (at most ``maximumLifetime``). It is signed by an approver key the
/// *service* is configured to trust; the agent only carries it. ``WritApprovers`` verifies it.
///
/// Wire form: `writap1_` + base64url of
/// `version(1) ‖ approverKeyID(8) ‖ id(16) ‖ issuedAt(i64 BE ms) ‖ expiresAt(i64 BE ms) ‖ tokenDigest(32) ‖
/// name ‖ audience ‖ action ‖ resource ‖ signature(64)`, each text as a big-endian `u16` length and UTF-8; the
/// Ed25519 signature covers `"writ-approval-v1\0"` followed by every byte before it.
public struct WritApproval: Sendable, Hashable, CustomStringConvertible {
    /// The text form's prefix.
    public static let textPrefix = "writap1_"
    /// The header carrying approvals (several allowed, one approval per field).
    public static let headerName = "Writ-Approval"
    /// The longest validity an approval may state; a longer one is never accepted.
    public static let maximumLifetime: Duration = .seconds(300)
    /// The largest text form accepted, in bytes.
    public static let maximumTextBytes = 2_400
    /// The most `Writ-Approval` fields one request may carry.
    public static let maximumPerRequest = 8
    /// The longest approval name, audience or action, in UTF-8 bytes.
    public static let maximumNameBytes = 256
    /// The longest resource, in UTF-8 bytes (as the route map's limit).
    public static let maximumResourceBytes = 1_024

    static let version: UInt8 = 1
    static let domain = Array("writ-approval-v1".utf8) + [0]

    /// The approval's name: what it adds to `context.approvals` (e.g. `merge`).
    public let name: String
    /// The service audience it is valid at.
    public let audience: String
    /// The action it approves.
    public let action: String
    /// The resource it approves.
    public let resource: String
    /// The digest of the one token it may be presented with.
    public let tokenDigest: TokenDigest
    /// When it was signed.
    public let issuedAt: Timestamp
    /// When it stops being valid.
    public let expiresAt: Timestamp
    /// The key id of the approver key that signed it.
    public let approverKeyID: KeyID
    /// A random id, for logs and audit correlation.
    public let id: [UInt8]
    /// The text form (`writap1_…`).
    public let text: String
    let signedBytes: [UInt8]
    let signature: [UInt8]

    /// Signs an approval with an approver's key (the approver side: a human's console, an approval service).
    ///
    /// - Parameters:
    ///   - name: the approval the checkpoint tests for (`context.approvals.contains("merge")` → `merge`).
    ///   - audience: the service's audience.
    ///   - action: the action approved.
    ///   - resource: the resource approved.
    ///   - tokenDigest: the ``CapabilityToken/digest`` of the token the agent will present with it.
    ///   - key: the approver's key (the service lists its public half under `approvers`).
    ///   - at: the signing time.
    ///   - lifetime: how long it is valid (clamped to 1 s … ``maximumLifetime``; default 120 s).
    /// - Throws: ``WritHTTPError/Code/malformedRequest`` when a text is empty, too long or holds control bytes.
    public static func sign(
        name: String,
        audience: String,
        action: String,
        resource: String,
        tokenDigest: TokenDigest,
        key: Ed25519.PrivateKey,
        at: Timestamp,
        lifetime: Duration = .seconds(120)
    ) throws(WritHTTPError) -> WritApproval {
        for (field, value, limit) in [
            ("name", name, maximumNameBytes), ("audience", audience, maximumNameBytes),
            ("action", action, maximumNameBytes), ("resource", resource, maximumResourceBytes),
        ] where !isAcceptableText(value, limit: limit) {
            throw WritHTTPError(
                .malformedRequest,
                "approval \(field): empty, longer than \(limit) bytes or control bytes"
            )
        }
        let lifetime = min(max(lifetime, .seconds(1)), maximumLifetime)
        var bytes: [UInt8] = [version]
        bytes += key.publicKey.keyID.bytes
        bytes += SecureRandom.bytes(count: 16)
        appendInt64(at.millisecondsSinceEpoch, to: &bytes)
        appendInt64(at.advanced(by: lifetime).millisecondsSinceEpoch, to: &bytes)
        bytes += tokenDigest.bytes
        for value in [name, audience, action, resource] {
            let utf8 = Array(value.utf8)
            bytes.append(UInt8(utf8.count >> 8))
            bytes.append(UInt8(utf8.count & 0xff))
            bytes += utf8
        }
        let signature = key.signature(for: domain + bytes)
        return try WritApproval(text: textPrefix + Base64URL.encode(bytes + signature))
    }

    /// Parses an approval's text form (no signature or binding is checked here; see ``WritApprovers``).
    ///
    /// - Throws: ``WritHTTPError/Code/malformedHeader`` naming what does not decode.
    public init(text: String) throws(WritHTTPError) {
        func bad(_ why: String) -> WritHTTPError { WritHTTPError(.malformedHeader, "Writ-Approval: \(why)") }
        guard text.utf8.count <= Self.maximumTextBytes else {
            throw bad("longer than \(Self.maximumTextBytes) bytes")
        }
        guard text.hasPrefix(Self.textPrefix) else { throw bad("not a \(Self.textPrefix) approval") }
        guard let raw = Base64URL.decode(text.dropFirst(Self.textPrefix.count)) else { throw bad("not base64url") }
        var reader = Reader(bytes: raw)
        guard let version = reader.byte(), version == Self.version else { throw bad("unknown version") }
        guard let keyID = reader.take(KeyID.byteCount).flatMap({ try? KeyID(bytes: $0) }),
            let id = reader.take(16),
            let issued = reader.int64(),
            let expires = reader.int64(),
            let digest = reader.take(TokenDigest.byteCount).flatMap({ try? TokenDigest(bytes: $0) })
        else { throw bad("truncated") }
        var texts: [String] = []
        for limit in [Self.maximumNameBytes, Self.maximumNameBytes, Self.maximumNameBytes, Self.maximumResourceBytes] {
            guard let count = reader.uint16(), count <= limit, let utf8 = reader.take(count) else {
                throw bad("a text is truncated or too long")
            }
            guard let value = String(validating: utf8, as: UTF8.self), Self.isAcceptableText(value, limit: limit)
            else { throw bad("a text is empty, not UTF-8 or holds control bytes") }
            texts.append(value)
        }
        let signedCount = reader.offset
        guard let signature = reader.take(Ed25519.signatureByteCount), reader.isAtEnd else {
            throw bad("the signature is missing or bytes follow it")
        }
        guard issued.millisecondsSinceEpoch < expires.millisecondsSinceEpoch else {
            throw bad("it expires before it was issued")
        }
        self.approverKeyID = keyID
        self.id = id
        self.issuedAt = issued
        self.expiresAt = expires
        self.tokenDigest = digest
        self.name = texts[0]
        self.audience = texts[1]
        self.action = texts[2]
        self.resource = texts[3]
        self.signedBytes = Array(raw[..<signedCount])
        self.signature = signature
        self.text = text
    }

    /// Whether `key` signed this approval (nothing else is checked).
    public func isSigned(by key: Ed25519.PublicKey) -> Bool {
        key.keyID == approverKeyID && key.isValidSignature(signature, for: Self.domain + signedBytes)
    }

    /// The header field an agent adds to its request.
    public var headerField: (name: String, value: String) { (Self.headerName, text) }

    /// The approval's id in hex (for logs).
    public var idText: String { Hex.encode(id) }

    /// Name, binding and validity; never the token digest in full.
    public var description: String {
        "WritApproval(\(name) for \(action) \(resource) at \(audience), id \(idText), approver \(approverKeyID), "
            + "until \(expiresAt))"
    }

    static func isAcceptableText(_ value: String, limit: Int) -> Bool {
        !value.isEmpty && value.utf8.count <= limit
            && !value.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7f }
    }

    private static func appendInt64(_ value: Int64, to bytes: inout [UInt8]) {
        let bits = UInt64(bitPattern: value)
        for shift in stride(from: 56, through: 0, by: -8) {
            bytes.append(UInt8(truncatingIfNeeded: bits >> UInt64(shift)))
        }
    }

    private struct Reader {
        let bytes: [UInt8]
        var offset = 0

        var isAtEnd: Bool { offset == bytes.count }

        mutating func take(_ count: Int) -> [UInt8]? {
            guard count >= 0, bytes.count - offset >= count else { return nil }
            defer { offset += count }
            return Array(bytes[offset..<(offset + count)])
        }

        mutating func byte() -> UInt8? { take(1)?.first }

        mutating func uint16() -> Int? { take(2).map { Int($0[0]) << 8 | Int($0[1]) } }

        mutating func int64() -> Timestamp? {
            guard let raw = take(8) else { return nil }
            let bits = raw.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            return Timestamp(millisecondsSinceEpoch: Int64(bitPattern: bits))
        }
    }
}

/// The approver keys a service trusts, and the check of a request's `Writ-Approval` headers against them.
///
/// Only approvals that are signed by a configured approver and match this service's audience, the request's
/// action and resource, the presented token's digest and the current time are granted. Everything else is
/// ignored for authorisation (it can never allow anything) and reported in ``Check/ignored`` for the log.
public struct WritApprovers: Sendable {
    /// One trusted approver.
    public struct Approver: Sendable, Hashable {
        /// The approver's name (for logs and audit).
        public var name: String
        /// The approver's public key.
        public var publicKey: Ed25519.PublicKey

        /// Creates an approver.
        public init(name: String, publicKey: Ed25519.PublicKey) {
            self.name = name
            self.publicKey = publicKey
        }
    }

    /// What a request's approvals came to.
    public struct Check: Sendable, Hashable {
        /// The approval names granted (for `Gatekeeper.Request.approvals`).
        public var granted: Set<String> = []
        /// Who granted each (approval name → approver names), for the log.
        public var approvers: [String: [String]] = [:]
        /// Approvals ignored, each with why (no secrets: id, name and reason).
        public var ignored: [String] = []
    }

    /// The approvers by key id.
    public let approvers: [KeyID: Approver]

    /// Creates the set (a later approver with the same key replaces an earlier one).
    public init(_ approvers: [Approver]) {
        var byKey: [KeyID: Approver] = [:]
        for approver in approvers { byKey[approver.publicKey.keyID] = approver }
        self.approvers = byKey
    }

    /// Checks a request's `Writ-Approval` header values.
    ///
    /// - Parameters:
    ///   - values: every `Writ-Approval` field value, in order.
    ///   - audience: this service's audience.
    ///   - action: the request's mapped action.
    ///   - resource: the request's mapped resource.
    ///   - tokenDigest: the digest of the token the request presents.
    ///   - now: the service's time.
    ///   - clockSkew: tolerated disagreement with the approver's clock.
    /// - Throws: ``WritHTTPError/Code/malformedHeader`` when there are more than
    ///   ``WritApproval/maximumPerRequest`` fields or one does not decode (the request is refused, never allowed).
    public func check(
        _ values: [String],
        audience: String,
        action: String,
        resource: String,
        tokenDigest: TokenDigest,
        now: Timestamp,
        clockSkew: Duration = .seconds(30)
    ) throws(WritHTTPError) -> Check {
        guard values.count <= WritApproval.maximumPerRequest else {
            throw WritHTTPError(
                .malformedHeader,
                "more than \(WritApproval.maximumPerRequest) Writ-Approval headers"
            )
        }
        var check = Check()
        for value in values {
            let approval = try WritApproval(text: WritPresentation.trimmed(value))
            let label = "approval \(approval.idText) (\(WritPresentation.clipped(approval.name)))"
            guard let approver = approvers[approval.approverKeyID] else {
                check.ignored.append("\(label): approver key \(approval.approverKeyID) is not trusted here")
                continue
            }
            guard approval.isSigned(by: approver.publicKey) else {
                check.ignored.append("\(label): the signature does not verify with \(approver.name)'s key")
                continue
            }
            var mismatch: String?
            if approval.audience != audience {
                mismatch = "it is for audience '\(WritPresentation.clipped(approval.audience))'"
            } else if approval.action != action || approval.resource != resource {
                mismatch = "it is for another action or resource"
            } else if !ConstantTime.equals(approval.tokenDigest.bytes, tokenDigest.bytes) {
                mismatch = "it is for another token"
            } else if approval.issuedAt.duration(to: approval.expiresAt) > WritApproval.maximumLifetime {
                mismatch = "its lifetime is longer than \(WritApproval.maximumLifetime)"
            } else if now.advanced(by: clockSkew) < approval.issuedAt {
                mismatch = "it is issued in the future"
            } else if approval.expiresAt.advanced(by: clockSkew) <= now {
                mismatch = "it expired at \(approval.expiresAt)"
            }
            if let mismatch {
                check.ignored.append("\(label) by \(approver.name): \(mismatch)")
                continue
            }
            check.granted.insert(approval.name)
            check.approvers[approval.name, default: []].append(approver.name)
        }
        return check
    }
}
#endif
