#if CLI
import Writ
import WritTesting

extension DemoScenario {
    /// Anomaly: a sub-agent probing tickets it was not given is detected, reported and revoked; the planner is not.
    func anomaly(_ cast: Cast, task: String, forwarded: ForwardedAnomalies) async throws {
        let ticketer = cast.ticketer
        let provider = cast.provider
        let tickets = deployment.tickets
        report.begin("Anomaly: the ticketer sub-agent probes tickets it was not given")
        try await provider.begin(
            task: task,
            step: StepGrant(
                name: "triage",
                audience: "tickets",
                actions: ["read", "comment"],
                resources: ["tickets/*"],
                duration: .seconds(20)
            )
        )
        let ticketToken = try await provider.delegate(
            to: ticketer.identity,
            publicKey: ticketer.key.publicKey,
            agentClass: "ticketer",
            actions: ["comment"],
            resources: ["tickets/BUG-42"]
        )
        let ticketerProvider = try CredentialProvider(
            identity: ticketer.identity,
            key: ticketer.key,
            delegatedToken: ticketToken,
            clock: clock
        )
        try await expectAllowed(
            "ticketer comments on tickets/BUG-42",
            ticketerProvider,
            tickets,
            "comment",
            "tickets/BUG-42"
        )
        var probesDenied = 0
        for n in 1...4 {
            if try await call(ticketerProvider, tickets, "read", "tickets/BUG-\(n)").denialCode != nil {
                probesDenied += 1
            }
        }
        report.expect("4 probes of other tickets denied", probesDenied == 4)
        try await waitFor { !forwarded.reports.isEmpty }
        let anomaly = forwarded.reports.first
        report.expect(
            "denial burst detected and reported to the authority",
            anomaly?.detector == "denial-burst" && forwarded.errors.isEmpty,
            anomaly?.detail ?? "no report"
        )
        try await deployment.syncAll()
        try await expectDenied(
            "ticketer's token revoked: its next legitimate comment is denied",
            ticketerProvider,
            tickets,
            "comment",
            "tickets/BUG-42",
            code: .revoked
        )
        try await expectAllowed("the planner's own token still works", provider, tickets, "read", "tickets/BUG-42")
    }
}
#endif
