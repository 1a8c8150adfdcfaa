#if CLI
import Writ
import WritTesting

extension DemoScenario {
    /// The broker: a legacy API's static key is injected by the broker; the agent never sees it.
    func brokeredRefund(_ cast: Cast, task: String) async throws {
        let provider = cast.provider
        report.begin("Legacy payments API: the broker holds the static key; the agent never sees it")
        try await provider.begin(
            task: task,
            step: StepGrant(
                name: "refund",
                audience: "payments",
                actions: ["refund"],
                resources: ["payments/orders/*"],
                duration: .seconds(10)
            )
        )
        await deployment.broker.openSession(
            task: task,
            scope: .init(operations: ["refund"], rateLimit: 3, window: .seconds(60))
        )
        let refund = try await provider.credential(
            audience: "payments",
            action: "refund",
            resource: "payments/orders/9313"
        )
        let result = try await deployment.broker.perform(
            Gatekeeper.Request(
                token: refund.token,
                proof: refund.proof,
                action: "refund",
                resource: "payments/orders/9313"
            )
        ) { apiKey in
            // The host's call to the legacy API: it injects the key into the outgoing request.
            let injected = apiKey.withUnsafeBytes { String(decoding: $0, as: UTF8.self) } == DemoDeployment.legacyAPIKey
            return injected ? "refund accepted for order 9313" : "legacy API rejected the key"
        }
        report.expect("refund through the broker", result == "refund accepted for order 9313", result)
        let leaked = [refund.token, refund.proof, result].contains { $0.contains(DemoDeployment.legacyAPIKey) }
        report.expect("the static key never reached the agent", !leaked)
    }
}
#endif
