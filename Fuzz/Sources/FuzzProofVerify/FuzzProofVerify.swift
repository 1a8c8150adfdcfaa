import FuzzSupport
import Writ
import WritAudit
import WritCrypto
import WritIdentity
import WritPolicy
import WritRevocation
import WritTokens

/// The fixture's live, expired and delegated tokens with an arbitrary binary proof, through the whole request
/// check (`VerifiedToken.authorize`), then, when that fails before the proof, the proof check alone, as the
/// gatekeeper does to decide whether to attribute the failure. Only the fixture's own signed proof is accepted.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    Harness.run(data, size) { bytes in
        guard let proof = try? ProofOfPossession(bytes: bytes) else { return }
        for (index, verified) in verifiedTokens.enumerated() {
            do throws(TokenError) {
                try verified.authorize(
                    Fixture.request,
                    proof: proof,
                    at: Fixture.now,
                    replayCache: InMemoryReplayCache(),
                    revocation: NoRevocationChecker()
                )
                let fixture = Fixture.tokens[index]
                Harness.check(
                    proof == Fixture.proof(for: fixture.token, key: fixture.holderKey),
                    "only the holder's own proof is accepted"
                )
            } catch {
                // Not again after a proof failure: the same check would fail the same way.
                if error.code != .proofStale, error.code != .proofInvalid {
                    _ = try? verified.checkProof(proof, for: Fixture.request, at: Fixture.now)
                }
            }
        }
    }
}

private let verifiedTokens = Fixture.tokens.map { try! Fixture.verifier.verifyChain($0.token) }
