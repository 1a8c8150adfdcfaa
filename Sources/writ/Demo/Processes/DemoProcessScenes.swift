#if CLI
import Foundation
import MCP
import Writ
import WritCrypto
import WritHTTP
import WritIdentity
import WritTokens

/// The planner and its sub-agents over HTTP.
extension DemoProcessScenario {
    /// The agents of the workflow, and the planner's credential provider.
    struct Cast {
        let planner: Agent
        let reader: Agent
        let ticketer: Agent
        let provider: CredentialProvider
    }

    func attestation() async throws -> Cast {
        report.begin("Attestation: each agent proves its identity with a one-time join token (its own key)")
        let planner = try await enroll("planner", instance: "7f3a")
        report.expect(
            "planner attested over HTTP",
            planner.document.identity == planner.identity,
            "\(planner.identity)"
        )
        let reader = try await enroll("reader", instance: "1", supervisor: planner.identity)
        let ticketer = try await enroll("ticketer", instance: "1", supervisor: planner.identity)
        report.expect(
            "reader and ticketer attested, supervised by the planner",
            reader.document.identity == reader.identity && ticketer.document.identity == ticketer.identity
        )
        let join = try await client.issueJoinToken(
            .init(identity: "spiffe://\(Self.trustDomain)/agent/reader/2", agentClass: "reader"),
            operatorKey: operatorKey
        )
        let key = Ed25519.PrivateKey()
        _ = try await client.attest(join.evidence(signingKey: key), key: key)
        let again = await attempt { try await client.attest(join.evidence(signingKey: key), key: key) }
        report.expect("a join token is accepted once", again != nil, again.map { String($0.prefix(120)) } ?? "")
        let forged = await attempt {
            let other = Ed25519.PrivateKey()
            return try await client.issueJoinToken(
                .init(identity: planner.identity.description, agentClass: "planner"),
                operatorKey: other
            )
        }
        report.expect("a join token signed by an unknown key is refused", forged != nil)
        return Cast(planner: planner, reader: reader, ticketer: ticketer, provider: provider(planner))
    }

    func stepTokens(_ cast: Cast) async throws -> String {
        let provider = cast.provider
        report.begin("Task: \"Fix bug #42 and refund the affected customer\" — one narrow token per step")
        let task = try await client.openTask(
            .init(objective: "Fix bug #42 and refund the affected customer", intent: "fix-bug", deadlineSeconds: 300),
            as: cast.planner.document,
            key: cast.planner.key
        )
        tasks.append(task)
        try await provider.begin(
            task: task,
            step: StepGrant(
                name: "read-code",
                audience: "repo",
                actions: ["read"],
                resources: ["repo/writ/*"],
                duration: .seconds(4)
            )
        )
        let expiry = await provider.expiresAt
        let life = expiry.map { SystemClock().now().duration(to: $0) } ?? .zero
        report.expect(
            "step token minted for repo: read repo/writ/* (4 s)",
            life > .zero && life <= .seconds(4),
            "expires in \(ms(life))"
        )
        let read = try await wire.call(
            provider,
            "repo",
            "GET",
            "/repo/writ/src/Parser.swift",
            action: "read",
            resource: "repo/writ/src/Parser.swift"
        )
        expect("planner reads repo/writ/src/Parser.swift", read, "ok")
        let write = try await wire.call(
            provider,
            "repo",
            "PUT",
            "/repo/writ/src/Parser.swift",
            action: "write",
            resource: "repo/writ/src/Parser.swift",
            body: Array("patched".utf8)
        )
        expect("planner tries to write with a read-only step token", write, "token-rejected")
        // The proof is bound to method, URL and body: the same proof on another path is refused.
        let credential = try await provider.credential(
            audience: "repo",
            action: "read",
            resource: "repo/writ/src/Parser.swift",
            binding: try wire.binding("repo", "GET", "/repo/writ/src/Parser.swift", [])
        )
        let moved = await wire.send(
            "repo",
            "GET",
            "/repo/writ/src/Lexer.swift",
            token: credential.token,
            proof: credential.proof
        )
        report.expect("a proof signed for one URL is refused on another", !moved.isAllowed, "\(moved)")
        let notEntitled = await attempt {
            try await HTTPTokenSource(client: client, identity: cast.planner.document, key: cast.planner.key)
                .issue(
                    task: task,
                    step: StepGrant(name: "grab", audience: "repo", actions: ["delete"], resources: ["repo/*"])
                )
        }
        report.expect(
            "a step asking beyond the class's entitlements is refused",
            notEntitled != nil,
            notEntitled.map { String($0.prefix(140)) } ?? ""
        )
        // The tickets system's MCP tool server: the planner calls its tools through the MCP client, each message
        // with the step's token and a fresh proof.
        let ticket = CredentialProvider(
            identity: cast.planner.identity,
            key: cast.planner.key,
            source: HTTPTokenSource(client: client, identity: cast.planner.document, key: cast.planner.key)
        )
        try await ticket.begin(
            task: task,
            step: DemoToolSession.step(
                "triage",
                actions: ["read", "comment"],
                resources: ["tickets/*"],
                duration: .seconds(4)
            )
        )
        let tools = try await DemoToolSession.open(
            wire.urls[DemoToolSession.audience] ?? "",
            provider: ticket,
            agent: "planner"
        )
        let listed = try await tools.toolNames()
        report.expect(
            "MCP tools/list shows the triage step only the tools it may call",
            listed == ["comment", "read_ticket"],
            listed.joined(separator: ", ")
        )
        expect(
            "planner reads ticket #42 over MCP (read_ticket, its own step token)",
            await tools.call("read_ticket", ["id": 42]),
            "ok"
        )
        let comment = await tools.call("comment", ["id": 42, "text": "root cause found in the parser"])
        expect("planner comments on ticket #42 over MCP (comment)", comment, "ok")
        let close = await tools.call("close_ticket", ["id": 42])
        report.expect(
            "close_ticket, outside the triage step, is refused: 403 insufficient_scope",
            close.status == 403 && close.refusal?.error == "insufficient_scope",
            "\(close)"
        )
        await tools.close()
        return task
    }

    func delegation(_ cast: Cast) async throws {
        report.begin("Delegation: the planner hands a narrower token to the reader sub-agent (its own key)")
        let delegated = try await cast.provider.delegate(
            to: cast.reader.identity,
            publicKey: cast.reader.key.publicKey,
            agentClass: "reader",
            actions: ["read"],
            resources: ["repo/writ/src/*"],
            lifetime: .seconds(3)
        )
        report.expect(
            "delegated token has \(delegated.blockCount) blocks, \(delegated.bytes.count) bytes (recorded at the authority)",
            delegated.blockCount == 2
        )
        let reader = try CredentialProvider(
            identity: cast.reader.identity,
            key: cast.reader.key,
            delegatedToken: delegated
        )
        let read = try await wire.call(
            reader,
            "repo",
            "GET",
            "/repo/writ/src/Lexer.swift",
            action: "read",
            resource: "repo/writ/src/Lexer.swift"
        )
        expect("reader reads repo/writ/src/Lexer.swift", read, "ok")
        let outside = try await wire.call(
            reader,
            "repo",
            "GET",
            "/repo/writ/secrets.env",
            action: "read",
            resource: "repo/writ/secrets.env"
        )
        expect("reader tries to read outside its narrowed scope", outside, "token-rejected")
        let widened = await attempt {
            try await reader.delegate(
                to: cast.ticketer.identity,
                publicKey: cast.ticketer.key.publicKey,
                agentClass: "ticketer",
                actions: ["read", "write"]
            )
        }
        report.expect(
            "reader cannot delegate a wider token onward",
            widened != nil,
            widened.map { String($0.prefix(140)) } ?? ""
        )
    }

    func refresh(_ cast: Cast, task: String) async throws {
        let provider = cast.provider
        report.begin("Long step: real 4 s tokens refresh before expiry while the work goes on (real clock)")
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
        let first = try await provider.credential(audience: "repo", action: "read", resource: "repo/writ/README")
        let firstToken = try CapabilityToken(text: first.token)
        let before = await provider.refreshes
        let started = ContinuousClock.now
        var calls = 0
        var failures: [String] = []
        while started.duration(to: .now) < .seconds(9) {
            calls += 1
            let answer = try await wire.call(
                provider,
                "repo",
                "PUT",
                "/repo/writ/Tests/run-\(calls).log",
                action: "write",
                resource: "repo/writ/Tests/run-\(calls).log",
                body: Array("ok \(calls)".utf8)
            )
            if !answer.isAllowed { failures.append("call \(calls): \(answer)") }
            try await Task.sleep(for: .milliseconds(500))
        }
        let refreshes = await provider.refreshes - before
        report.expect(
            "9 s of work on 4 s tokens: every call allowed (\(calls) calls, zero failed steps)",
            failures.isEmpty,
            "\(refreshes) proactive refreshes"
                + (failures.isEmpty ? "" : "; " + failures.prefix(3).joined(separator: "; "))
        )
        let current = await provider.tokenID
        report.expect("refreshed before expiry, a new token each time", refreshes >= 2 && current != firstToken.id)
        let answer = await Self.timeToDenial(since: .now, limit: .seconds(5)) { [wire] in
            let proof =
                (try? wire.proof(
                    token: firstToken,
                    key: cast.planner.key,
                    "repo",
                    "GET",
                    "/repo/writ/README",
                    action: "read",
                    resource: "repo/writ/README"
                )) ?? ""
            return await wire.send("repo", "GET", "/repo/writ/README", token: firstToken.text, proof: proof)
        }
        report.expect(
            "the superseded token (fresh proof by its holder) is denied",
            answer.1 == "revoked" || answer.1 == "token-rejected",
            answer.1
        )
    }

    func checkpoint(_ cast: Cast, task: String) async throws {
        let provider = cast.provider
        report.begin("Sensitive action: a re-authorisation checkpoint")
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
        let merge = try await wire.call(
            provider,
            "repo",
            "POST",
            "/merge/writ/pr/42",
            action: "merge",
            resource: "repo/writ/pr/42"
        )
        report.expect(
            "merge returns 403 \"re-authorise first\" (retry: approval)",
            merge.status == 403 && merge.refusal?.retry == .approval,
            "\(merge)"
        )
        report.say(
            "    (a human approves: a Writ-Approval signed by the approver key repo trusts, for this token only)"
        )
        let approver = setup.approverKey
        func approval(name: String, resource: String) -> @Sendable (CapabilityToken) throws -> WritApproval {
            { token in
                try WritApproval.sign(
                    name: name,
                    audience: "repo",
                    action: "merge",
                    resource: resource,
                    tokenDigest: token.digest,
                    key: approver,
                    at: SystemClock().now()
                )
            }
        }
        let forged = try await wire.call(
            provider,
            "repo",
            "POST",
            "/merge/writ/pr/42",
            action: "merge",
            resource: "repo/writ/pr/42",
            approval: approval(name: "merge", resource: "repo/writ/pr/41")
        )
        report.expect(
            "an approval for another pull request does not pass the checkpoint (still 403)",
            forged.status == 403 && forged.refusal?.retry == .approval,
            "\(forged)"
        )
        let approved = try await wire.call(
            provider,
            "repo",
            "POST",
            "/merge/writ/pr/42",
            action: "merge",
            resource: "repo/writ/pr/42",
            approval: approval(name: "merge", resource: "repo/writ/pr/42")
        )
        report.expect("merge with the human's approval is allowed", approved.isAllowed, "\(approved)")
    }

    func replay(_ cast: Cast) async throws {
        let provider = cast.provider
        report.begin("Replay: a captured request is useless a second time; a stolen token without its key too")
        try await provider.begin(
            task: tasks[0],
            step: StepGrant(
                name: "review",
                audience: "repo",
                actions: ["read"],
                resources: ["repo/writ/*"],
                duration: .seconds(10)
            )
        )
        let credential = try await provider.credential(
            audience: "repo",
            action: "read",
            resource: "repo/writ/pr/42",
            binding: try wire.binding("repo", "GET", "/repo/writ/pr/42", [])
        )
        let original = await wire.send(
            "repo",
            "GET",
            "/repo/writ/pr/42",
            token: credential.token,
            proof: credential.proof
        )
        let replayed = await wire.send(
            "repo",
            "GET",
            "/repo/writ/pr/42",
            token: credential.token,
            proof: credential.proof
        )
        expect("original request allowed", original, "ok")
        report.expect("replayed request denied", replayed.code == "replayed", "\(replayed)")
        let thief = Ed25519.PrivateKey()
        let stolen = try CapabilityToken(text: credential.token)
        let proof = try wire.proof(
            token: stolen,
            key: thief,
            "repo",
            "GET",
            "/repo/writ/pr/42",
            action: "read",
            resource: "repo/writ/pr/42"
        )
        let theft = await wire.send("repo", "GET", "/repo/writ/pr/42", token: credential.token, proof: proof)
        report.expect("a stolen token without the holder's key is denied", theft.status == 401, "\(theft)")
    }

    /// The ticketer probes tickets it was not given, over MCP: the tool server's denial-burst detector (5
    /// denials) reports it to the authority, which revokes the ticketer everywhere; the planner keeps working.
    func anomaly(_ cast: Cast, task: String) async throws {
        report.begin("Anomaly: the ticketer sub-agent probes tickets it was not given (MCP tool calls)")
        let url = wire.urls[DemoToolSession.audience] ?? ""
        let planner = provider(cast.planner)
        try await planner.begin(
            task: task,
            step: DemoToolSession.step(
                "triage-2",
                actions: ["read", "comment"],
                resources: ["tickets/*"],
                duration: .seconds(20)
            )
        )
        let delegated = try await planner.delegate(
            to: cast.ticketer.identity,
            publicKey: cast.ticketer.key.publicKey,
            agentClass: "ticketer",
            actions: ["mcp", "comment"],
            resources: ["tickets/BUG-42"] + DemoProcessSetup.sessionResources
        )
        let ticketer = try CredentialProvider(
            identity: cast.ticketer.identity,
            key: cast.ticketer.key,
            delegatedToken: delegated
        )
        let tools = try await DemoToolSession.open(url, provider: ticketer, agent: "ticketer")
        let plannerTools = try await DemoToolSession.open(url, provider: planner, agent: "planner")
        let listed = try await tools.toolNames()
        report.expect(
            "the ticketer's delegated step lists one tool: comment",
            listed == ["comment"],
            listed.joined(separator: ", ")
        )
        expect(
            "ticketer comments on tickets/BUG-42 over MCP",
            await tools.call("comment", ["id": "BUG-42", "text": "fixed in #42"]),
            "ok"
        )
        var denied = 0
        for n in 1...5 {
            let probe = await tools.call("read_ticket", ["id": .string("BUG-\(n)")])
            if probe.status == 403 { denied += 1 }
        }
        let since = ContinuousClock.now
        report.expect("5 read_ticket probes of other tickets denied (403)", denied == 5)
        let (elapsed, code) = await Self.timeToDenial(since: since, limit: .seconds(15)) {
            await tools.call("comment", ["id": "BUG-42", "text": "again"])
        }
        timings.append(
            Timing(
                revocation: "anomaly",
                service: DemoToolSession.audience,
                milliseconds: elapsed.map(milliseconds),
                code: code
            )
        )
        report.expect(
            "denial burst detected by the tool server, reported, and the ticketer revoked: its next comment is denied",
            code == "revoked",
            "\(code)"
                + (elapsed.map { " \(ms($0)) after the 5th probe (detect → report → revoke → feed → deny)" } ?? "")
        )
        expect(
            "the planner's own MCP session still works",
            await plannerTools.call("read_ticket", ["id": "BUG-42"]),
            "ok"
        )
        await tools.close()
        await plannerTools.close()
    }

    func broker(_ cast: Cast, task: String) async throws {
        let provider = cast.provider
        report.begin("Legacy billing API: the broker holds the static key; the agent never sees it")
        try await provider.begin(
            task: task,
            step: StepGrant(
                name: "refund",
                audience: "billing",
                actions: ["refund"],
                resources: ["billing/refunds/*"],
                duration: .seconds(10)
            )
        )
        let before = legacy.observed
        let refund = try await wire.call(
            provider,
            "billing",
            "POST",
            "/v1/refunds/9313",
            action: "refund",
            resource: "billing/refunds/9313",
            body: Array(#"{"amount":1999}"#.utf8)
        )
        let after = legacy.observed
        expect("refund through the broker is accepted upstream", refund, "ok")
        report.expect(
            "upstream saw its static key, not the agent's Writ headers",
            after.withKey == before.withKey + 1 && after.writHeaders == before.writHeaders
        )
        report.expect("the static key never reached the agent", !refund.body.contains(DemoProcessSetup.legacyKey))
        let direct = await wire.sendBare("http://127.0.0.1:\(setup.legacyPort)/v1/refunds/9313", "POST")
        report.expect("the legacy API refuses a caller without the key", direct.status == 401, "\(direct)")
        try await provider.begin(
            task: task,
            step: StepGrant(
                name: "refund-record",
                audience: "payments",
                actions: ["refund"],
                resources: ["payments/orders/*"],
                duration: .seconds(10)
            )
        )
        let recorded = try await wire.call(
            provider,
            "payments",
            "POST",
            "/payments/orders/9313",
            action: "refund",
            resource: "payments/orders/9313",
            body: Array(#"{"refund":"9313"}"#.utf8)
        )
        expect("the refund is recorded on the payments service", recorded, "ok")
    }

    func handOff(_ cast: Cast, task: String) async throws -> String {
        let provider = cast.provider
        report.begin("Hand-off: the task moves to a new objective; the old tokens die")
        let old = try await provider.credential(audience: "payments", action: "refund", resource: "payments/x")
        let oldToken = try CapabilityToken(text: old.token)
        let next = try await client.handOff(
            task,
            to: .init(objective: "Write the release notes for 1.4.2", intent: "release-notes", deadlineSeconds: 120),
            as: cast.planner.document,
            key: cast.planner.key
        )
        let since = ContinuousClock.now
        tasks.append(next)
        let key = cast.planner.key
        let wire = self.wire
        let timing = await measure(
            "hand-off",
            since: since,
            [
                (
                    "payments",
                    {
                        let target = "/payments/orders/9314"
                        let proof =
                            (try? wire.proof(
                                token: oldToken,
                                key: key,
                                "payments",
                                "POST",
                                target,
                                action: "refund",
                                resource: "payments/orders/9314"
                            )) ?? ""
                        return await wire.send("payments", "POST", target, token: oldToken.text, proof: proof)
                    }
                )
            ]
        )
        report.expect(
            "old task's token denied after hand-off (one late request: denied and logged, not an anomaly)",
            timing.first?.code == "revoked",
            timing.map {
                "\($0.service): \($0.code) after \($0.milliseconds.map { String(format: "%.0f ms", $0) } ?? "—")"
            }
            .joined()
        )
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
        let notes = try await wire.call(
            provider,
            "repo",
            "GET",
            "/repo/writ/CHANGELOG.md",
            action: "read",
            resource: "repo/writ/CHANGELOG.md"
        )
        expect("new objective's token reads repo/writ/CHANGELOG.md", notes, "ok")
        return next
    }

    func completion(_ cast: Cast, task: String) async throws {
        let provider = cast.provider
        report.begin("Completion: the task ends and everything it held is revoked")
        let last = try await provider.credential(audience: "repo", action: "read", resource: "repo/writ/CHANGELOG.md")
        let token = try CapabilityToken(text: last.token)
        let tip = try await feedTip()
        try await client.completeTask(task, as: cast.planner.document, key: cast.planner.key)
        let since = ContinuousClock.now
        let key = cast.planner.key
        let wire = self.wire
        let timing = await measure(
            "completion",
            since: since,
            [
                (
                    "repo",
                    {
                        let proof =
                            (try? wire.proof(
                                token: token,
                                key: key,
                                "repo",
                                "GET",
                                "/repo/writ/CHANGELOG.md",
                                action: "read",
                                resource: "repo/writ/CHANGELOG.md"
                            )) ?? ""
                        return await wire.send(
                            "repo",
                            "GET",
                            "/repo/writ/CHANGELOG.md",
                            token: token.text,
                            proof: proof
                        )
                    }
                )
            ]
        )
        report.expect(
            "planner's token denied after completion",
            timing.first?.code == "revoked",
            timing.map { "\($0.code) after \($0.milliseconds.map { String(format: "%.0f ms", $0) } ?? "—")" }.joined()
        )
        let sequence = try await feedTip()
        let (complete, line) = await watermarkProof(covering: max(sequence, tip + 1))
        watermarkProofs.append("completion #\(sequence): \(line)")
        if let complete {
            report.expect("every verifier's signed watermark covers the completion (#\(sequence))", complete, line)
        }
    }
}
#endif
