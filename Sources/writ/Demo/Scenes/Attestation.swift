#if CLI
import Writ
import WritTesting

extension DemoScenario {
    /// Identity: the planner and its two sub-agents are attested through one-time join tokens, each bound to its own
    /// key; a join token works once. Returns the cast, with the planner's credential provider.
    func attestation() async throws -> Cast {
        report.begin("Identity: each agent is attested and bound to its own key")
        let planner = try await deployment.enroll("planner", instance: "1")
        let reader = try await deployment.enroll("reader", instance: "1", supervisor: planner.identity)
        let ticketer = try await deployment.enroll("ticketer", instance: "1", supervisor: planner.identity)
        let bundle = TrustBundle(trusting: authority.issuerPublicKey)
        for agent in [planner, reader, ticketer] {
            let verified = (try? agent.document.verify(trustBundle: bundle, at: clock.now())) != nil
            report.expect(
                "\(agent.identity) attested (class \(agent.className))",
                verified && agent.document.publicKey == agent.key.publicKey,
                "key \(agent.key.publicKey.keyID)\(agent.document.supervisor.map { ", supervisor \($0.path)" } ?? "")"
            )
        }
        let replayedJoin = try await deployment.attestor.issueJoinToken(for: planner.identity, agentClass: "planner")
        _ = try? await authority.attest(replayedJoin.evidence(signingKey: planner.key))
        let secondUse = (try? await authority.attest(replayedJoin.evidence(signingKey: planner.key))) == nil
        report.expect("a join token works once", secondUse)

        let provider = CredentialProvider(
            identity: planner.identity,
            key: planner.key,
            source: authority,
            clock: clock,
            refreshPolicy: .init(fraction: 0.75, jitter: deployment.seed == nil ? 0.05 : 0)
        )
        return Cast(planner: planner, reader: reader, ticketer: ticketer, provider: provider)
    }
}
#endif
