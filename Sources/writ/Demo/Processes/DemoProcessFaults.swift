#if CLI
import Foundation
import Writ
import WritCrypto
import WritHTTP
import WritIdentity
import WritTokens

/// The faults, shown rather than claimed, and the measured revocation timing.
extension DemoProcessScenario {
    /// The authority restarts mid-task (SIGTERM, then the same configuration and store): the task goes on.
    func authorityRestart(_ cast: Cast, task: String) async throws {
        report.begin("Fault: the authority restarts mid-task (state from its store)")
        let status = processes.stop("authority")
        report.say("    authority stopped (exit \(status.map(String.init) ?? "?")); restarting on the same store")
        let took = try await processes.start("authority", role: "authority")
        let step = await attempt {
            try await cast.provider.begin(
                task: task,
                step: StepGrant(
                    name: "post-restart",
                    audience: "repo",
                    actions: ["read"],
                    resources: ["repo/writ/*"],
                    duration: .seconds(4)
                )
            )
        }
        report.expect(
            "after the restart (\(ms(took))) the open task gets its next step token",
            step == nil,
            step.map { String($0.prefix(160)) } ?? "task \(task.prefix(12))… still open"
        )
        let read = try await wire.call(
            cast.provider,
            "repo",
            "GET",
            "/repo/writ/src/Parser.swift",
            action: "read",
            resource: "repo/writ/src/Parser.swift"
        )
        expect("and the repo serves it (its follower reconnected)", read, "ok")
    }

    /// A canary agent with one probe token per verifier (drill.probe on drill/canary).
    func canary(_ instance: String) async throws -> (Agent, [String: CredentialProvider]) {
        let agent = try await enroll("canary", instance: instance)
        let task = try await client.openTask(
            .init(objective: "revocation probe \(instance)", intent: "drill", deadlineSeconds: 120),
            as: agent.document,
            key: agent.key
        )
        var providers: [String: CredentialProvider] = [:]
        for verifier in setup.verifiers {
            let provider = provider(agent)
            try await provider.begin(
                task: task,
                step: StepGrant(
                    name: "probe-\(verifier.name)",
                    audience: verifier.name,
                    actions: [RevocationDrill.canaryAction],
                    resources: ["drill/canary"],
                    duration: .seconds(30)
                )
            )
            providers[verifier.name] = provider
        }
        return (agent, providers)
    }

    func probe(_ provider: CredentialProvider, _ service: String) async -> DemoAnswer {
        do {
            return try await wire.call(
                provider,
                service,
                "GET",
                "/drill/canary",
                action: RevocationDrill.canaryAction,
                resource: "drill/canary"
            )
        } catch {
            return DemoAnswer(status: -1, refusal: nil, body: "no credential: \(error)")
        }
    }

    /// A service is killed with SIGKILL mid-task; a token is revoked while it is down; it restarts and prints
    /// `ready` only after catching up, and its first answer to that token is a denial.
    func serviceCrash() async throws {
        report.begin("Fault: SIGKILL the tickets service mid-task; revoke while it is down; restart")
        let (agent, providers) = try await canary("crash")
        let tickets = providers["tickets"]!
        let before = await probe(tickets, "tickets")
        expect("the canary's token works on tickets", before, "ok")
        processes.kill("tickets")
        let down = await probe(tickets, "tickets")
        report.expect("killed (SIGKILL): requests to tickets fail", down.status == 0, "\(down)")
        try await client.revoke(
            .init(agent: agent.identity.description, reason: "manual"),
            operatorKey: operatorKey
        )
        let sequence = try await feedTip()
        report.say("    revoked the canary (#\(sequence)) while tickets is down; restarting tickets")
        let took = try await processes.start("tickets", role: "service")
        let stdout = processes.child("tickets")?.stdout ?? ""
        let readyFirst =
            stdout.range(of: "ready").map { ready in
                stdout.range(of: "listening on").map { ready.lowerBound < $0.lowerBound } ?? false
            } ?? false
        report.expect("tickets printed ready (after catching up) before listening — \(ms(took))", readyFirst)
        let first = await probe(tickets, "tickets")
        report.expect(
            "its first answer to the token revoked while it was down: denied",
            first.code == "revoked",
            "\(first)"
        )
    }

    /// Revocation → denial, measured: canary agents with a token on every verifier are revoked by the operator,
    /// and every verifier is polled with a fresh proof every few milliseconds until it denies.
    func revocationTiming(rounds: Int = 8) async throws {
        report.begin("Revocation → denial on every service, measured (real processes, feed over HTTP)")
        for round in 1...rounds {
            let (agent, providers) = try await canary("timing-\(round)")
            var ready = true
            for (service, provider) in providers {
                let answer = await probe(provider, service)
                if !answer.isAllowed { ready = false }
            }
            guard ready else {
                report.expect("round \(round): every probe allowed before the revocation", false)
                continue
            }
            try await client.revoke(
                .init(agent: agent.identity.description, reason: "manual"),
                operatorKey: operatorKey
            )
            let since = ContinuousClock.now
            let scenario = self
            let probes: [(String, @Sendable () async -> DemoAnswer)] = setup.verifiers.map { verifier in
                let provider = providers[verifier.name]!
                let wire = scenario.wire
                return (
                    verifier.name,
                    {
                        do {
                            return try await wire.call(
                                provider,
                                verifier.name,
                                "GET",
                                "/drill/canary",
                                action: RevocationDrill.canaryAction,
                                resource: "drill/canary"
                            )
                        } catch {
                            return DemoAnswer(status: -1, refusal: nil, body: "\(error)")
                        }
                    }
                )
            }
            _ = await measure("canary \(round)", since: since, probes)
        }
        let measured = timings.filter { $0.revocation.hasPrefix("canary") }
        report.expect(
            "every revocation denied on every service (\(measured.count) measurements)",
            measured.allSatisfy { $0.code == "revoked" && $0.milliseconds != nil },
            measured.filter { $0.code != "revoked" }.map { "\($0.revocation) \($0.service): \($0.code)" }
                .joined(separator: "; ")
        )
        let sequence = try await feedTip()
        let (complete, line) = await watermarkProof(covering: sequence)
        watermarkProofs.append("last revocation #\(sequence): \(line)")
        if let complete {
            report.expect("every verifier's signed watermark covers the last revocation (#\(sequence))", complete, line)
        }
        report.say("")
        report.say("    revocation → first denial (ms, measured on the wall clock)")
        report.say("    service      n     p50     p99     max")
        for row in timingSummary {
            report.say(
                "    " + row.service.padding(toLength: 10, withPad: " ", startingAt: 0)
                    + String(format: "%5d %7.1f %7.1f %7.1f", row.samples, row.p50, row.p99, row.max)
            )
        }
    }

    /// The network between the authority and every service is cut at the relay: each service fails closed
    /// (503 `revocation-unavailable`) once its revocation data is older than `maxStalenessSeconds` (5 s), and
    /// serves again once the relay resumes.
    func partition() async throws {
        report.begin("Fault: partition the services from the authority's feed (the relay stops relaying)")
        let (_, providers) = try await canary("partition")
        var allowed = true
        for verifier in setup.verifiers {
            let answer = await probe(providers[verifier.name]!, verifier.name)
            if !answer.isAllowed { allowed = false }
        }
        report.expect("before: the canary's token works on every service", allowed)
        relay.partition()
        let cut = ContinuousClock.now
        let wire = self.wire
        let stale = await withTaskGroup(of: (String, Duration?, String).self) { group in
            for verifier in setup.verifiers {
                let provider = providers[verifier.name]!
                group.addTask {
                    while true {
                        let answer: DemoAnswer
                        do {
                            answer = try await wire.call(
                                provider,
                                verifier.name,
                                "GET",
                                "/drill/canary",
                                action: RevocationDrill.canaryAction,
                                resource: "drill/canary"
                            )
                        } catch {
                            return (verifier.name, nil, "\(error)")
                        }
                        if !answer.isAllowed { return (verifier.name, cut.duration(to: .now), "\(answer)") }
                        if cut.duration(to: .now) > .seconds(15) { return (verifier.name, nil, "still \(answer)") }
                        try? await Task.sleep(for: .milliseconds(100))
                    }
                }
            }
            var all: [(String, Duration?, String)] = []
            for await result in group { all.append(result) }
            return all.sorted { $0.0 < $1.0 }
        }
        // The bound counts from the last signed head the service heard (before the cut); 2 s of slack for the
        // 100 ms probe interval and a loaded machine's request latency.
        for (service, elapsed, answer) in stale {
            report.expect(
                "\(service) fails closed: 503 revocation-unavailable within its 5 s bound"
                    + (elapsed.map { " (after \(ms($0)))" } ?? ""),
                answer.contains("503 revocation-unavailable") && (elapsed ?? .seconds(99)) <= .seconds(7),
                String(answer.prefix(160))
            )
        }
        relay.resume()
        let healed = ContinuousClock.now
        // Each service polled every 400 ms: a retry loop faster than that would itself look like a denial burst
        // to the services' detectors (5 denials in 60 s), and the authority would revoke the canary.
        let recovered = await withTaskGroup(of: (String, Duration?, String).self) { group in
            for verifier in setup.verifiers {
                let provider = providers[verifier.name]!
                group.addTask {
                    let (elapsed, code) = await Self.timeToAnswer(since: healed, limit: .seconds(15)) {
                        do {
                            return try await wire.call(
                                provider,
                                verifier.name,
                                "GET",
                                "/drill/canary",
                                action: RevocationDrill.canaryAction,
                                resource: "drill/canary"
                            )
                        } catch {
                            return DemoAnswer(status: -1, refusal: nil, body: "\(error)")
                        }
                    }
                    return (verifier.name, elapsed, code)
                }
            }
            var all: [(String, Duration?, String)] = []
            for await result in group { all.append(result) }
            return all.sorted { $0.0 < $1.0 }
        }
        for (service, elapsed, code) in recovered {
            report.expect(
                "\(service) serves again after the partition heals" + (elapsed.map { " (after \(ms($0)))" } ?? ""),
                elapsed != nil,
                code
            )
        }
    }

    /// Polls until the answer is allowed; the time since `since`, or `nil` and the last code after `limit`.
    static func timeToAnswer(
        since: ContinuousClock.Instant,
        limit: Duration,
        _ answer: () async -> DemoAnswer
    ) async -> (Duration?, String) {
        while true {
            let seen = await answer()
            if seen.isAllowed { return (since.duration(to: .now), seen.code) }
            if since.duration(to: .now) > limit { return (nil, seen.code) }
            try? await Task.sleep(for: .milliseconds(400))
        }
    }

    /// The drill across the real processes: `writ drill --deployment <dir>/deployment.json` as a child (the same
    /// command an operator runs against a deployment), its table printed; every cell must hold.
    func drill() throws {
        report.begin("The drill against the real processes (writ drill --deployment)")
        let file = setup.directory + "/deployment.json"
        report.say("    deployment file: \(file)")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: processes.executable)
        process.arguments = ["drill", "--deployment", file, "--timeout", "15"]
        let out = Pipe()
        process.standardOutput = out
        let log = setup.directory + "/logs/drill.log"
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        process.standardError = FileHandle(forWritingAtPath: log) ?? .nullDevice
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        for line in text.split(separator: "\n") { report.say("    " + line) }
        report.expect(
            "revocation, refresh and logging proven on every service by the drill (exit 0)",
            process.terminationStatus == 0,
            "exit \(process.terminationStatus); see \(log)"
        )
    }
}
#endif
