import Testing
import WritCrypto
import WritIdentity

@testable import WritTokens

/// The sizes quoted in Docs/TokenFormat.md and Docs/Performance.md.
@Suite("Sizes")
struct SizeTests {
    /// The "typical" root token of the docs and benchmarks.
    static func typicalRoot(_ f: Fixture) throws -> CapabilityToken {
        try CapabilityToken.mint(
            TokenClaims(
                subject: f.subject,
                holder: f.agent.publicKey,
                agentClass: "researcher",
                audiences: ["api.acme.dev"],
                actions: ["read", "list"],
                resources: ["docs/*"],
                taskID: "task-42",
                step: 3,
                issuedAt: f.now,
                expiresAt: f.now.advanced(by: .seconds(300))
            ),
            agentClass: f.researcher,
            issuerKey: f.issuer
        )
    }

    /// The "typical" delegation: to a named sub-agent of a named class, fewer actions, narrower resources,
    /// earlier expiry.
    static func typicalDelegation(_ f: Fixture, _ root: CapabilityToken) throws -> CapabilityToken {
        try root.delegating(
            Attenuation(
                holder: f.subAgent.publicKey,
                delegate: f.delegate,
                delegateClass: "helper",
                actions: ["read"],
                resources: ["docs/public/*"],
                expiresAt: f.now.advanced(by: .seconds(120))
            ),
            holderKey: f.agent
        )
    }

    @Test("typical sizes: root 203 bytes, delegation block 145 bytes, proof 89 bytes")
    func typical() throws {
        let f = Fixture()
        let root = try Self.typicalRoot(f)
        let two = try Self.typicalDelegation(f, root)
        #expect(root.bytes.count == 203)
        #expect(two.bytes.count - root.bytes.count == 145)
        #expect(f.proof(root).bytes.count == 89)
        // Minimum: one audience, action and resource of one byte, a one-segment subject, no options.
        let minimal = try CapabilityToken.mint(
            TokenClaims(
                subject: try AgentIdentity("spiffe://a/agent/x/1"),
                holder: f.agent.publicKey,
                agentClass: "x",
                audiences: ["a"],
                actions: ["r"],
                resources: ["*"],
                issuedAt: f.now,
                expiresAt: f.now.advanced(by: .seconds(60))
            ),
            agentClass: try AgentClass(name: "x", defaultTTL: .seconds(60), maximumTTL: .seconds(60)),
            issuerKey: f.issuer
        )
        #expect(minimal.bytes.count == 153)
        let bare = try minimal.delegating(Attenuation(holder: f.subAgent.publicKey), holderKey: f.agent)
        #expect(bare.bytes.count - minimal.bytes.count == 98)
    }
}
