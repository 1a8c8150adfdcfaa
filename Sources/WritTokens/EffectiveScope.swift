import WritCrypto

/// What a chain of blocks allows so far; each delegation block may only narrow it.
struct EffectiveScope: Sendable {
    var audiences: [String]
    var actions: [String]
    var resources: [ResourcePattern]
    var notBefore: Timestamp
    var expiresAt: Timestamp
    /// Every key that has held the token, the current holder last.
    var holders: [Ed25519.PublicKey]

    init(root c: TokenClaims) {
        audiences = c.audiences
        actions = c.actions
        resources = c.resources
        notBefore = c.notBefore
        expiresAt = c.expiresAt
        holders = [c.holder]
    }

    var holder: Ed25519.PublicKey { holders[holders.count - 1] }

    /// Applies a delegation block, throwing if it widens anything or reuses a holder key.
    mutating func apply(_ a: Attenuation, block: Int) throws(TokenError) {
        for earlier in holders where earlier == a.holder {
            throw TokenError(
                .holderKeyReused,
                "next holder key \(a.holder.keyID) already held the token; a sub-agent must have its own key",
                block: block
            )
        }
        if let list = a.audiences {
            for value in list where !audiences.contains(value) {
                throw TokenError(
                    .wideningAttempt,
                    "audience '\(value)' was not allowed by earlier blocks",
                    block: block
                )
            }
            audiences = list
        }
        if let list = a.actions {
            for value in list where !actions.contains(value) {
                throw TokenError(.wideningAttempt, "action '\(value)' was not allowed by earlier blocks", block: block)
            }
            actions = list
        }
        if let list = a.resources {
            for pattern in list where !resources.contains(where: { $0.covers(pattern) }) {
                throw TokenError(
                    .wideningAttempt,
                    "resource '\(pattern)' is not covered by earlier blocks",
                    block: block
                )
            }
            resources = list
        }
        if let t = a.notBefore {
            guard t >= notBefore else {
                throw TokenError(
                    .wideningAttempt,
                    "not-before \(t) is earlier than \(notBefore) allowed so far",
                    block: block
                )
            }
            notBefore = t
        }
        if let t = a.expiresAt {
            guard t <= expiresAt else {
                throw TokenError(
                    .wideningAttempt,
                    "expiry \(t) is later than \(expiresAt) allowed so far",
                    block: block
                )
            }
            expiresAt = t
        }
        holders.append(a.holder)
    }
}
