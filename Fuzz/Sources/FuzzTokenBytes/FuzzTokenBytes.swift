import FuzzSupport
import Writ
import WritAudit
import WritCrypto
import WritIdentity
import WritPolicy
import WritRevocation
import WritTokens

/// Binary token decoding: a token that parses keeps its exact bytes, round-trips through its text form, prints,
/// and goes through chain verification against the fixture's trust bundle.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    Harness.run(data, size) { bytes in
        guard let token = try? CapabilityToken(bytes: bytes) else { return }
        Harness.check(token.bytes == bytes, "a parsed token keeps its bytes")
        Harness.check((try? CapabilityToken(text: token.text)) == token, "the text form round-trips")
        let claims = token.root.claims
        _ = "\(token) \(claims.issuedAt) \(claims.notBefore) \(claims.expiresAt) \(claims.caveats)"
        _ = try? Fixture.verifier.verifyChain(token)
    }
}
