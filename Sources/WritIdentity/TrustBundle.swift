public import WritCrypto

/// An issuer key a verifier trusts, with the window in which it may issue.
///
/// Keys rotate with overlap: the new key's window opens before the old key's closes, and a credential is
/// accepted only when it was *issued* inside its key's window. A credential issued by a key after the key's
/// window closed (a rotated-out key) is rejected; one issued before stays valid until its own expiry.
public struct TrustedKey: Hashable, Sendable, CustomStringConvertible {
    /// The issuer's verification key.
    public let publicKey: Ed25519.PublicKey
    /// The earliest issue time accepted for credentials signed by this key.
    public let validFrom: Timestamp
    /// The issue time from which this key is no longer accepted; `nil` while it has not been rotated out.
    public let validUntil: Timestamp?

    /// Creates a trusted key.
    ///
    /// - Parameters:
    ///   - publicKey: The issuer's verification key.
    ///   - validFrom: The earliest accepted issue time (default: the epoch).
    ///   - validUntil: The first issue time no longer accepted, or `nil` for an open window.
    public init(
        _ publicKey: Ed25519.PublicKey,
        validFrom: Timestamp = Timestamp(millisecondsSinceEpoch: 0),
        validUntil: Timestamp? = nil
    ) {
        self.publicKey = publicKey
        self.validFrom = validFrom
        self.validUntil = validUntil
    }

    /// The key's id.
    public var keyID: KeyID { publicKey.keyID }

    /// Whether a credential issued at `issuedAt` falls inside this key's window (`validFrom ≤ t < validUntil`).
    public func accepts(issuedAt: Timestamp) -> Bool {
        issuedAt >= validFrom && (validUntil.map { issuedAt < $0 } ?? true)
    }

    public var description: String {
        "TrustedKey(\(keyID), from \(validFrom)\(validUntil.map { " until \($0)" } ?? ""))"
    }
}

/// The issuer keys a verifier trusts, found by key id.
///
/// A bundle is a value: a verifier holds one, and rotation produces a new bundle (``adding(_:)``,
/// ``rotatingOut(_:at:)``) that the host swaps in.
public struct TrustBundle: Hashable, Sendable, CustomStringConvertible {
    private var keysByID: [KeyID: TrustedKey]

    /// Creates a bundle from trusted keys. A later key with the same id replaces an earlier one.
    public init(_ keys: some Sequence<TrustedKey> = []) {
        keysByID = [:]
        for key in keys { keysByID[key.keyID] = key }
    }

    /// Creates a bundle trusting `publicKeys` with open windows.
    public init(trusting publicKeys: Ed25519.PublicKey...) {
        self.init(publicKeys.map { TrustedKey($0) })
    }

    /// The trusted key with id `keyID`, if any.
    public func key(for keyID: KeyID) -> TrustedKey? { keysByID[keyID] }

    /// All trusted keys, ordered by key id.
    public var keys: [TrustedKey] { keysByID.values.sorted { $0.keyID < $1.keyID } }

    /// The number of keys.
    public var count: Int { keysByID.count }

    /// A bundle that also trusts `key` (replacing a key with the same id).
    public func adding(_ key: TrustedKey) -> TrustBundle {
        var copy = self
        copy.keysByID[key.keyID] = key
        return copy
    }

    /// A bundle in which the key `keyID` no longer accepts credentials issued at or after `time`.
    ///
    /// Credentials it issued earlier stay valid until they expire; that is the rotation overlap.
    public func rotatingOut(_ keyID: KeyID, at time: Timestamp) -> TrustBundle {
        guard let old = keysByID[keyID] else { return self }
        var copy = self
        copy.keysByID[keyID] = TrustedKey(old.publicKey, validFrom: old.validFrom, validUntil: time)
        return copy
    }

    /// A bundle without the key `keyID`: everything it issued stops verifying at once.
    public func removing(_ keyID: KeyID) -> TrustBundle {
        var copy = self
        copy.keysByID[keyID] = nil
        return copy
    }

    public var description: String { "TrustBundle(\(keys.map(\.keyID.description).joined(separator: ", ")))" }
}
