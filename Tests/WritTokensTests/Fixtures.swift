import WritCrypto
import WritIdentity
import WritTesting

@testable import WritTokens

/// Keys, classes and tokens shared by the token tests.
struct Fixture {
    let issuer = Ed25519.PrivateKey()
    let agent = Ed25519.PrivateKey()
    let subAgent = Ed25519.PrivateKey()
    let clock = ManualClock()
    let researcher = try! AgentClass(
        name: "researcher",
        defaultTTL: .seconds(300),
        maximumTTL: .seconds(900),
        maximumDelegationDepth: 3,
        mayDelegate: true,
        refreshLimit: 3
    )
    let helper = try! AgentClass(name: "helper", defaultTTL: .seconds(60), maximumTTL: .seconds(300))
    let subject = try! AgentIdentity("spiffe://acme.dev/agent/researcher/7")
    let delegate = try! AgentIdentity("spiffe://acme.dev/agent/helper/1")

    var now: Timestamp { clock.now() }

    var bundle: TrustBundle { TrustBundle(trusting: issuer.publicKey) }

    var verifier: TokenVerifier { TokenVerifier(trustBundle: bundle, agentClasses: [researcher, helper]) }

    func claims(ttl: Duration = .seconds(300), caveats: [Caveat] = []) -> TokenClaims {
        TokenClaims(
            subject: subject,
            holder: agent.publicKey,
            agentClass: "researcher",
            audiences: ["api.acme.dev", "files.acme.dev"],
            actions: ["read", "list", "write"],
            resources: ["docs/*", "reports/q3.pdf"],
            taskID: "task-42",
            step: 3,
            intent: "summarise Q3 reports",
            issuedAt: now,
            expiresAt: now.advanced(by: ttl),
            caveats: caveats
        )
    }

    func mint(ttl: Duration = .seconds(300), caveats: [Caveat] = []) throws -> CapabilityToken {
        try CapabilityToken.mint(claims(ttl: ttl, caveats: caveats), agentClass: researcher, issuerKey: issuer)
    }

    func twoBlock() throws -> CapabilityToken {
        try mint().delegating(
            Attenuation(
                holder: subAgent.publicKey,
                delegate: delegate,
                delegateClass: "helper",
                actions: ["read"],
                resources: ["docs/public/*"]
            ),
            holderKey: agent
        )
    }

    let request = TokenRequest(audience: "api.acme.dev", action: "read", resource: "docs/public/a.txt")

    func proof(
        _ token: CapabilityToken,
        key: Ed25519.PrivateKey? = nil,
        request: TokenRequest? = nil,
        at: Timestamp? = nil
    ) -> ProofOfPossession {
        ProofOfPossession.sign(token: token, request: request ?? self.request, holderKey: key ?? agent, at: at ?? now)
    }
}
