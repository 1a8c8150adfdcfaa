import Testing
import WritCrypto
import WritIdentity
import WritTesting

@testable import WritTokens

@Suite("Token round trips")
struct RoundTripTests {
    @Test("a minted token parses back to the same claims, in binary and text form")
    func mintParse() throws {
        let f = Fixture()
        let token = try f.mint()
        let parsed = try CapabilityToken(bytes: token.bytes)
        #expect(parsed == token)
        #expect(parsed.root == token.root)
        #expect(try CapabilityToken(text: token.text) == token)
        #expect(token.text.hasPrefix("writ1_"))
        #expect(!String(describing: token).contains(token.text))
    }

    @Test("a two-block token verifies and authorises a proven request")
    func verifyTwoBlocks() throws {
        let f = Fixture()
        let token = try f.twoBlock()
        let parsed = try CapabilityToken(text: token.text)
        #expect(parsed.delegations == token.delegations)
        let verified = try f.verifier.verify(
            parsed,
            request: f.request,
            proof: f.proof(parsed, key: f.subAgent),
            clock: f.clock,
            replayCache: InMemoryReplayCache(),
            revocation: NoRevocationChecker()
        )
        #expect(verified.delegationDepth == 1)
        #expect(verified.actions == ["read"])
        #expect(verified.delegates == [f.delegate])
        #expect(verified.holder == f.subAgent.publicKey)
        #expect(verified.revocationIDs.count == 2)
    }
}
