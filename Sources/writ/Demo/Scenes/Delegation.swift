#if CLI
import Writ
import WritTesting

extension DemoScenario {
    /// Delegation: the planner hands a narrower token to the reader sub-agent, which cannot widen it.
    func delegation(_ cast: Cast) async throws {
        let planner = cast.planner
        let reader = cast.reader
        let provider = cast.provider
        let repo = deployment.repo
        report.begin("Delegation: the planner hands a narrower token to the reader sub-agent (its own key)")
        let delegated = try await provider.delegate(
            to: reader.identity,
            publicKey: reader.key.publicKey,
            agentClass: "reader",
            actions: ["read"],
            resources: ["repo/writ/src/*"],
            lifetime: .seconds(4)
        )
        let readerProvider = try CredentialProvider(
            identity: reader.identity,
            key: reader.key,
            delegatedToken: delegated,
            clock: clock
        )
        report.expect(
            "delegated token has \(delegated.blockCount) blocks, \(delegated.bytes.count) bytes",
            delegated.blockCount == 2
        )
        try await expectAllowed(
            "reader reads repo/writ/src/Lexer.swift",
            readerProvider,
            repo,
            "read",
            "repo/writ/src/Lexer.swift"
        )
        try await expectDenied(
            "reader tries to read outside its narrowed scope (widening)",
            readerProvider,
            repo,
            "read",
            "repo/writ/secrets.env",
            code: .tokenRejected
        )
        let widened = await attempt {
            try await readerProvider.delegate(
                to: planner.identity,
                publicKey: Ed25519.PrivateKey().publicKey,
                agentClass: "planner",
                actions: ["read", "write"]
            )
        }
        report.expect(
            "reader cannot delegate a wider token onward",
            widened != nil,
            widened.map { String($0.prefix(140)) } ?? ""
        )
    }
}
#endif
