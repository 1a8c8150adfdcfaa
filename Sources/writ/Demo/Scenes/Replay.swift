#if CLI
import Writ
import WritTesting

extension DemoScenario {
    /// Replay and theft: a captured request is denied a second time, a stolen token without its holder's key always.
    func replay(_ cast: Cast) async throws {
        let provider = cast.provider
        let repo = deployment.repo
        report.begin("Replay: a captured request is useless a second time")
        let captured = try await provider.credential(audience: "repo", action: "merge", resource: "repo/writ/pr/42")
        let request = Gatekeeper.Request(
            token: captured.token,
            proof: captured.proof,
            action: "merge",
            resource: "repo/writ/pr/42",
            approvals: ["merge"]
        )
        let firstUse = await repo.gatekeeper.authorize(request)
        let replay = await repo.gatekeeper.authorize(request)
        report.expect("original request allowed", firstUse.isAllowed)
        report.expect("replayed proof denied", replay.denialCode == .replayed, "\(replay)")
        let thief = Ed25519.PrivateKey()
        let stolen = try CapabilityToken(text: captured.token)
        let thiefProof = ProofOfPossession.sign(
            token: stolen,
            request: TokenRequest(audience: "repo", action: "merge", resource: "repo/writ/pr/42"),
            holderKey: thief,
            at: clock.now()
        )
        let theft = await repo.gatekeeper.authorize(
            Gatekeeper.Request(
                token: captured.token,
                proof: thiefProof.text,
                action: "merge",
                resource: "repo/writ/pr/42",
                approvals: ["merge"]
            )
        )
        report.expect("a stolen token without the holder's key is denied", !theft.isAllowed, "\(theft)")
    }
}
#endif
