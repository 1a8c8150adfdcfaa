import WritCrypto

@testable import WritTokens

/// Builds token bytes by hand, bypassing every check `mint` and `delegating` make, so tests can present the
/// verifier with validly signed blocks that break the rules.
enum Craft {
    /// Encodes claims as a root block body (kind byte to caveats), without validation.
    static func rootBody(_ claims: TokenClaims, issuerKeyID: KeyID) -> [UInt8] {
        var w = WireWriter()
        TokenCodec.encodeRoot(claims, issuerKeyID: issuerKeyID, into: &w)
        return w.bytes
    }

    /// Encodes an attenuation as a delegation block body, without validation.
    static func delegationBody(_ a: Attenuation, issuedAt: Timestamp) -> [UInt8] {
        var w = WireWriter()
        TokenCodec.encodeDelegation(a, issuedSeconds: issuedAt.secondsSinceEpoch, into: &w)
        return w.bytes
    }

    /// Signs a root block body as the issuer and returns the token bytes.
    static func root(body: [UInt8], issuer: Ed25519.PrivateKey, version: UInt8 = TokenFormat.version) -> [UInt8] {
        let unsigned = [version] + body
        return unsigned + issuer.signature(for: TokenFormat.rootTag + unsigned)
    }

    /// Appends a delegation block body signed by `key` over the last signature of `token`.
    static func append(body: [UInt8], to token: [UInt8], key: Ed25519.PrivateKey) -> [UInt8] {
        let previousSignature = Array(token.suffix(64))
        let signature = key.signature(for: TokenFormat.delegationTag + [token[0]] + previousSignature + body)
        return token + body + signature
    }

    /// Appends a validly signed delegation block for `a`, whatever it says.
    static func delegate(_ token: CapabilityToken, _ a: Attenuation, key: Ed25519.PrivateKey) -> [UInt8] {
        append(body: delegationBody(a, issuedAt: token.root.claims.issuedAt), to: token.bytes, key: key)
    }
}
