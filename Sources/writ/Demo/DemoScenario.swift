import Foundation
import Writ
import WritCrypto

/// The demo's script: a realistic agent workflow end to end, every outcome checked.
struct DemoScenario {
    let deployment: DemoDeployment
    let report: DemoReport

    private var clock: SimulatedClock { deployment.clock }
    private var authority: CredentialAuthority { deployment.authority }

    func run() async throws {
        let forwarded = ForwardedAnomalies()
        try await withThrowingTaskGroup(of: Void.self) { group in
            let deployment = self.deployment
            group.addTask { await deployment.forwardAnomalies(into: forwarded) }
            defer { group.cancelAll() }
            try await workflow(forwarded: forwarded)
        }
        try await drill()
        try await verifyLogs()
        try timeline()
    }

    // MARK: The workflow

    private func workflow(forwarded: ForwardedAnomalies) async throws {
        let repo = deployment.repo
        let tickets = deployment.tickets
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

        report.begin("Task: \"Fix bug #42 and refund the affected customer\" — one narrow token per step")
        let task = try await authority.openTask(
            for: planner.identity,
            objective: "Fix bug #42 and refund the affected customer",
            intent: "fix-bug",
            deadline: .seconds(300)
        )
        report.taskIDs.append(task)
        try await provider.begin(
            task: task,
            step: StepGrant(
                name: "read-code",
                audience: "repo",
                actions: ["read"],
                resources: ["repo/writ/*"],
                duration: .seconds(5)
            )
        )
        let life = await provider.expiresAt.map { clock.now().duration(to: $0) } ?? .zero
        report.expect("step token minted for repo: read repo/writ/*", life == .seconds(5), "TTL \(life)")
        try await expectAllowed(
            "planner reads repo/writ/src/Parser.swift",
            provider,
            repo,
            "read",
            "repo/writ/src/Parser.swift"
        )
        try await expectDenied(
            "planner tries to write with a read-only step token",
            provider,
            repo,
            "write",
            "repo/writ/src/Parser.swift",
            code: .tokenRejected
        )
        let notEntitled = await attempt {
            try await authority.issue(
                task: task,
                step: StepGrant(name: "grab", audience: "repo", actions: ["delete"], resources: ["repo/*"])
            )
        }
        report.expect("a step asking beyond the class's entitlements is refused", notEntitled != nil, notEntitled ?? "")

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

        report.begin("Long step: the token refreshes before expiry (single-flight, capped, audited)")
        try await provider.begin(
            task: task,
            step: StepGrant(
                name: "run-tests",
                audience: "repo",
                actions: ["read", "write"],
                resources: ["repo/writ/*"],
                duration: .seconds(4)
            )
        )
        let firstTestToken = try await authority.task(task)?.steps["run-tests"]?.live?.token
        var allAllowed = true
        for second in stride(from: 2, through: 10, by: 2) {
            clock.advance(by: .seconds(2))
            try await deployment.syncAll()
            let decision = try await call(provider, repo, "write", "repo/writ/Tests/run-\(second).log")
            allAllowed = allAllowed && decision.isAllowed
        }
        let refreshes = await provider.refreshes
        report.expect("10 s of work on 4 s tokens: every call allowed", allAllowed, "\(refreshes) proactive refreshes")
        let currentID = await provider.tokenID
        report.expect(
            "refreshed before expiry, one live token per step",
            refreshes >= 2 && currentID != firstTestToken?.id
        )
        if let old = firstTestToken {
            let request = TokenRequest(audience: "repo", action: "read", resource: "repo/writ/README")
            let proof = ProofOfPossession.sign(token: old, request: request, holderKey: planner.key, at: clock.now())
            let decision = await repo.gatekeeper.authorize(
                Gatekeeper.Request(token: old.text, proof: proof.text, action: "read", resource: "repo/writ/README")
            )
            report.expect("the superseded token is denied", decision.denialCode == .revoked, "\(decision)")
        }

        report.begin("Sensitive action: a re-authorisation checkpoint, then approval")
        try await provider.begin(
            task: task,
            step: StepGrant(
                name: "merge",
                audience: "repo",
                actions: ["merge"],
                resources: ["repo/writ/pr/*"],
                duration: .seconds(10)
            )
        )
        let checkpoint = try await call(provider, repo, "merge", "repo/writ/pr/42")
        if case .reauthorize(let reason, _) = checkpoint {
            report.expect("merge returns \"re-authorise first\"", true, reason)
        } else {
            report.expect("merge returns \"re-authorise first\"", false, "\(checkpoint)")
        }
        report.say("    (a human approves the merge)")
        let approved = try await call(provider, repo, "merge", "repo/writ/pr/42", approvals: ["merge"])
        report.expect("merge with approval is allowed", approved.isAllowed, "\(approved)")

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

        report.begin("Hand-off: the task moves to a new objective; the old tokens die")
        let oldMerge = try await provider.credential(
            audience: "payments",
            action: "refund",
            resource: "payments/orders/9313"
        )
        let next = try await authority.handOff(
            task: task,
            toObjective: "Write the release notes for 1.4.2",
            intent: "release-notes",
            deadline: .seconds(120)
        )
        report.taskIDs.append(next)
        try await deployment.syncAll()
        let afterHandOff = await deployment.payments.gatekeeper.authorize(
            Gatekeeper.Request(
                token: oldMerge.token,
                proof: oldMerge.proof,
                action: "refund",
                resource: "payments/orders/9313"
            )
        )
        report.expect("old task's token denied after hand-off", afterHandOff.denialCode == .revoked, "\(afterHandOff)")
        try await provider.begin(
            task: next,
            step: StepGrant(
                name: "notes",
                audience: "repo",
                actions: ["read"],
                resources: ["repo/writ/CHANGELOG.md"],
                duration: .seconds(10)
            )
        )
        try await expectAllowed(
            "new objective's token reads repo/writ/CHANGELOG.md",
            provider,
            repo,
            "read",
            "repo/writ/CHANGELOG.md"
        )

        report.begin("Completion: the task ends and everything it held is revoked")
        try await authority.complete(task: next)
        let sequence = deployment.revocations.tip?.sequence ?? 0
        try await deployment.syncAll()
        let proof = try await deployment.revocations.revocationProof(
            for: sequence,
            expecting: deployment.services.map(\.name)
        )
        report.expect(
            "every service applied revocation #\(sequence) (watermark proof)",
            proof.isComplete,
            proof.watermarks.map { "\($0.verifier)@\($0.sequence)" }.joined(separator: " ")
        )
        let final = await attempt {
            try await provider.credential(audience: "repo", action: "read", resource: "repo/writ/CHANGELOG.md")
        }
        if final == nil {
            try await expectDenied(
                "planner's token denied after completion",
                provider,
                repo,
                "read",
                "repo/writ/CHANGELOG.md",
                code: .revoked
            )
        } else {
            report.expect("planner's token denied after completion", true, "provider refused: \(final!)")
        }
    }

    // MARK: Drill, logs, timeline

    private func drill() async throws {
        report.begin("Revocation drill on every service (canary token: use, refresh, revoke, logs)")
        let canary = try await deployment.enroll("canary", instance: "drill")
        let drill = RevocationDrill(
            authority: authority,
            authorityAudit: deployment.authorityStore,
            revocations: deployment.revocations,
            agent: canary.identity,
            agentKey: canary.key,
            clock: clock
        )
        let result = try await drill.run(
            on: deployment.services.map { [deployment] service in
                RevocationDrill.Service(name: service.name, gatekeeper: service.gatekeeper, auditStore: service.store) {
                    try await deployment.sync(service)
                }
            }
        )
        report.drill = result
        for line in result.table().split(separator: "\n") { report.say("  " + line) }
    }

    private func verifyLogs() async throws {
        report.begin("Audit: witness each log's latest batch checkpoint, verify every file against the keys folder")
        let logs: [(String, AuditLog, FileAuditStore, String)] =
            [("authority", deployment.authorityLog, deployment.authorityStore, deployment.authorityPath)]
            + deployment.services.map { ($0.name, $0.log, $0.store, $0.path) }
        let keys = try Self.keyring(folder: deployment.directory + "/keys")
        for (name, log, store, path) in logs {
            try await store.flushCheckpointFile()
            let witnessed = try deployment.authorityLog.cosign(try log.checkpoint(), logKey: log.publicKey)
            try Data(witnessed.text.utf8).write(to: URL(fileURLWithPath: path + ".witness-authority.checkpoint"))
            let verification = try AuditVerifier.verify(fileAt: path, keys: keys)
            report.audit.append(
                .init(
                    service: name,
                    path: path,
                    entries: verification.entryCount,
                    valid: verification.isVerified && verification.witnessedSize == verification.entryCount,
                    checkpointsVerified: verification.checkpointsVerified,
                    rootHash: Hex.encode(verification.rootHash),
                    detail: verification.failure?.description ?? "ok"
                )
            )
            report.say(
                "  \(verification.isVerified ? "✓" : "✗") \(name): \(verification.entryCount) entries, chain + Merkle "
                    + "tree, every entry covered by a batch checkpoint signed by keys/\(name).pub, witnessed by "
                    + "the authority (root \(Hex.encode(verification.rootHash.prefix(6)))…)"
            )
            if !verification.isVerified { report.say("    \(verification)") }
        }
    }

    /// Every log and witness key in the demo's keys folder.
    static func keyring(folder: String) throws -> AuditKeyring {
        var keys = AuditKeyring()
        for name in try FileManager.default.contentsOfDirectory(atPath: folder).sorted() where name.hasSuffix(".pub") {
            let text = try String(contentsOfFile: folder + "/" + name, encoding: .utf8)
            try keys.add(verifierKey: text.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        return keys
    }

    private func timeline() throws {
        report.begin("Forensic timeline of the task across all services")
        let keys = try Self.keyring(folder: deployment.directory + "/keys")
        let sources = try ([deployment.authorityPath] + deployment.services.map(\.path)).map { path in
            try ForensicTimeline.Source(fileAt: path, keys: keys)
        }
        let merged = try ForensicTimeline(sources: sources, requireVerified: true)
        let first = report.taskIDs.first ?? ""
        let rows = merged.filtered(task: first)
        report.timelineRows = rows.rows.count
        let services = Set(rows.rows.map(\.service)).sorted()
        report.say("  \(rows.rows.count) events for \(first) from \(services.joined(separator: ", ")); first and last:")
        let table = rows.table().split(separator: "\n")
        for line in table.prefix(7) { report.say("  " + line) }
        if table.count > 12 { report.say("  …") }
        for line in table.suffix(5) where table.count > 7 { report.say("  " + line) }
        report.expect("timeline merges the verified logs of \(services.count) systems", services.count >= 4)
    }

    // MARK: Helpers

    private func call(
        _ provider: CredentialProvider,
        _ service: DemoDeployment.Service,
        _ action: String,
        _ resource: String,
        approvals: Set<String> = []
    ) async throws -> GateDecision {
        let credential = try await provider.credential(audience: service.name, action: action, resource: resource)
        return await service.gatekeeper.authorize(
            Gatekeeper.Request(
                token: credential.token,
                proof: credential.proof,
                action: action,
                resource: resource,
                approvals: approvals,
                traceID: "demo-\(action)"
            )
        )
    }

    private func expectAllowed(
        _ name: String,
        _ provider: CredentialProvider,
        _ service: DemoDeployment.Service,
        _ action: String,
        _ resource: String
    ) async throws {
        let decision = try await call(provider, service, action, resource)
        report.expect(name, decision.isAllowed, "\(decision)")
    }

    private func expectDenied(
        _ name: String,
        _ provider: CredentialProvider,
        _ service: DemoDeployment.Service,
        _ action: String,
        _ resource: String,
        code: GateDenial.Code
    ) async throws {
        let decision = try await call(provider, service, action, resource)
        let summary: String
        if case .deny(let denial) = decision {
            summary = "denied: \(denial.tokenError.map(\.description) ?? denial.code.description)"
        } else {
            summary = "\(decision)"
        }
        report.expect(name, decision.denialCode == code, summary)
    }

    /// Runs `body`; returns the error text if it threw, `nil` if it succeeded.
    private func attempt<T>(_ body: () async throws -> T) async -> String? {
        do {
            _ = try await body()
            return nil
        } catch {
            return "\(error)"
        }
    }

    /// Waits (real time, at most 2 s) for a condition set by another task.
    private func waitFor(_ condition: () -> Bool) async throws {
        for _ in 0..<200 where !condition() { try await Task.sleep(for: .milliseconds(10)) }
    }
}
