public import WritCrypto

/// The result of asking a ``RevocationSnapshot`` whether a token may be used.
///
/// Only ``notRevoked`` permits use: ``stale(lastHeard:bound:)`` fails closed because the snapshot cannot tell.
public enum RevocationLookup: Hashable, Sendable, CustomStringConvertible {
    /// Nothing the token depends on is revoked, and the snapshot is fresh.
    case notRevoked
    /// The token is revoked; the entry is the earliest revocation (lowest sequence) that covers it.
    case revoked(RevocationEntry)
    /// The snapshot has not heard from its store within `bound` (or never has: `lastHeard` is `nil`), so it
    /// fails closed.
    case stale(lastHeard: Timestamp?, bound: Duration)

    /// Whether the token may be used.
    public var permitsUse: Bool { self == .notRevoked }

    /// Throws unless the lookup permits use.
    ///
    /// - Throws: ``RevocationError`` with code `revoked` (naming the entry) or `stale` (naming the last contact).
    public func requireNotRevoked() throws(RevocationError) {
        switch self {
        case .notRevoked:
            return
        case .revoked(let entry):
            throw RevocationError(.revoked, "revoked by \(entry)")
        case .stale(let lastHeard, let bound):
            let heard = lastHeard.map { "last heard from the store at \($0)" } ?? "never heard from the store"
            throw RevocationError(.stale, "revocation data older than \(bound): \(heard)")
        }
    }

    /// `not revoked`, `revoked: …` or `stale: …`.
    public var description: String {
        switch self {
        case .notRevoked: "not revoked"
        case .revoked(let entry): "revoked: \(entry)"
        case .stale(let lastHeard, let bound):
            "stale: last heard \(lastHeard.map(\.description) ?? "never"), bound \(bound)"
        }
    }
}
