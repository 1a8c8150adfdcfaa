import Foundation
import Testing
import WritCrypto
import WritIdentity

@testable import WritTokens

@Suite("Test vectors")
struct VectorTests {
    @Test("the committed vectors are exactly what the generator produces (set WRIT_WRITE_VECTORS=1 to rewrite)")
    func upToDate() throws {
        let generated = VectorGenerator().file()
        if ProcessInfo.processInfo.environment["WRIT_WRITE_VECTORS"] == "1" { try generated.write() }
        let committed = try VectorFile.load()
        #expect(committed.cases.count == generated.cases.count)
        for (a, b) in zip(committed.cases, generated.cases) { #expect(a == b, "\(a.name)") }
        #expect(committed == generated)
    }

    @Test("every vector verifies to its expected outcome")
    func outcomes() throws {
        let file = try VectorFile.load()
        #expect(file.cases.count >= 30)
        #expect(file.cases.filter { $0.expect == "valid" }.count >= 5)
        let bundle = TrustBundle(
            try file.trustedKeys.map {
                TrustedKey(
                    try Ed25519.PublicKey(rawRepresentation: Hex.decode($0.publicKey) ?? []),
                    validFrom: Timestamp(millisecondsSinceEpoch: $0.validFrom),
                    validUntil: $0.validUntil.map { Timestamp(millisecondsSinceEpoch: $0) }
                )
            }
        )
        let classes = try file.agentClasses.map {
            try AgentClass(
                name: $0.name,
                defaultTTL: .seconds($0.defaultTTLSeconds),
                maximumTTL: .seconds($0.maximumTTLSeconds),
                maximumDelegationDepth: $0.maximumDelegationDepth,
                mayDelegate: $0.mayDelegate,
                refreshLimit: $0.refreshLimit
            )
        }
        let options = VerificationOptions(
            clockSkew: .seconds(file.clockSkewSeconds),
            proofFreshness: .seconds(file.proofFreshnessSeconds)
        )
        let verifier = TokenVerifier(trustBundle: bundle, agentClasses: classes, options: options)
        var codesSeen: Set<String> = []
        for c in file.cases {
            let outcome = evaluate(c, file: file, verifier: verifier)
            codesSeen.insert(outcome.result)
            #expect(outcome.result == c.expect, "\(c.name): \(outcome.detail)")
            if c.expect != "valid" { #expect(outcome.stage == c.stage, "\(c.name) rejected at \(outcome.stage)") }
        }
        #expect(codesSeen.count >= 20)
    }

    struct Outcome {
        var result: String
        var stage: String
        var detail: String
    }

    func evaluate(_ c: VectorFile.Case, file: VectorFile, verifier: TokenVerifier) -> Outcome {
        var stage = "parse"
        do {
            let token: CapabilityToken
            if let hex = c.tokenHex {
                token = try CapabilityToken(bytes: Hex.decode(hex) ?? [0xff])
                if let text = c.text { #expect(text == token.text, "\(c.name): text form") }
            } else {
                token = try CapabilityToken(text: c.text ?? "")
            }
            stage = "chain"
            let verified = try verifier.verifyChain(token)
            if c.expect == "valid" {
                #expect(verified.digest.description == c.digest, "\(c.name): digest")
                #expect(verified.revocationIDs.map(\.description) == c.revocationIDs, "\(c.name): revocation ids")
                #expect(verified.delegationDepth == c.delegationDepth, "\(c.name): depth")
            }
            if let r = c.request, let proofText = c.proof {
                stage = "request"
                let request = TokenRequest(
                    audience: r.audience,
                    action: r.action,
                    resource: r.resource,
                    attributes: r.attributes
                )
                let proof = try ProofOfPossession(text: proofText)
                let now = Timestamp(millisecondsSinceEpoch: c.now ?? file.now)
                let cache = InMemoryReplayCache()
                let times = c.presentTwice == true ? 2 : 1
                for _ in 0..<times {
                    try verified.authorize(
                        request,
                        proof: proof,
                        at: now,
                        options: verifier.options,
                        replayCache: cache,
                        revocation: NoRevocationChecker()
                    )
                }
            }
            return Outcome(result: "valid", stage: stage, detail: "accepted")
        } catch {
            return Outcome(result: error.code.description, stage: stage, detail: error.description)
        }
    }
}
