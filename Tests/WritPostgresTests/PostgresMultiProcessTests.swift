#if Postgres
import Foundation
import Synchronization
import Testing
import Writ
import WritCrypto
import WritIdentity
@_spi(Testing) import WritPostgres
import WritRevocation
import WritTokens

/// A `WritPostgresHelper` child process: lines in on stdin, lines out on stdout (each stamped when read).
final class HelperProcess: Sendable {
    static var executable: URL? {
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
            .deletingLastPathComponent()
        for _ in 0..<5 {
            let candidate = directory.appendingPathComponent("WritPostgresHelper")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        return nil
    }

    let process: Process
    private let input: FileHandle
    private final class Inbox: Sendable {
        let state = Mutex<(lines: [(String, ContinuousClock.Instant)], ended: Bool)>(([], false))
    }
    private let inbox = Inbox()

    init(_ arguments: [String], environment extra: [String: String]) throws {
        let executable = try #require(
            Self.executable,
            "WritPostgresHelper not found beside \(CommandLine.arguments[0])"
        )
        process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(extra) { $1 }
        let stdin = Pipe()
        let stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = FileHandle.standardError
        input = stdin.fileHandleForWriting
        let reading = stdout.fileHandleForReading
        let inbox = self.inbox
        Thread.detachNewThread {
            var buffer = Data()
            while true {
                let chunk = reading.availableData
                if chunk.isEmpty { break }
                buffer.append(chunk)
                while let newline = buffer.firstIndex(of: 0x0A) {
                    let line = String(decoding: buffer[buffer.startIndex..<newline], as: UTF8.self)
                    let now = ContinuousClock.now
                    inbox.state.withLock { $0.lines.append((line, now)) }
                    buffer.removeSubrange(buffer.startIndex...newline)
                }
            }
            inbox.state.withLock { $0.ended = true }
        }
        try process.run()
    }

    func send(_ line: String) {
        input.write(Data((line + "\n").utf8))
    }

    /// The next line, or `nil` when the process ended or said nothing for `timeout`.
    func next(timeout: Duration = .seconds(120)) async -> String? { await nextTimed(timeout: timeout)?.0 }

    /// The next line with the instant it was read from the pipe.
    func nextTimed(timeout: Duration = .seconds(120)) async -> (String, ContinuousClock.Instant)? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let (line, ended): ((String, ContinuousClock.Instant)?, Bool) = inbox.state.withLock { state in
                state.lines.isEmpty ? (nil, state.ended) : (state.lines.removeFirst(), false)
            }
            if let line { return line }
            if ended { return nil }
            try? await Task.sleep(for: .milliseconds(1))
        }
        return nil
    }

    func stop() {
        try? input.close()
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
    }
}

/// The deployment the helper processes run (the same agent classes, entitlements and keys).
struct SharedDeployment {
    let issuerSeed = (0..<32).map { _ in UInt8.random(in: 0...255) }
    let revocationSeed = (0..<32).map { _ in UInt8.random(in: 0...255) }
    var issuerKey: Ed25519.PrivateKey { try! Ed25519.PrivateKey(seed: SecureBytes(issuerSeed)) }
    var revocationKey: Ed25519.PrivateKey { try! Ed25519.PrivateKey(seed: SecureBytes(revocationSeed)) }

    var environment: [String: String] {
        ["WRIT_HELPER_ISSUER_SEED": Hex.encode(issuerSeed), "WRIT_HELPER_REVOCATION_SEED": Hex.encode(revocationSeed)]
    }

    static let classes = [
        try! AgentClass(name: "canary", defaultTTL: .seconds(60), maximumTTL: .seconds(60), refreshLimit: 100),
        try! AgentClass(name: "limited", defaultTTL: .seconds(60), maximumTTL: .seconds(60), refreshLimit: 2),
    ]

    func authority(_ service: WritPostgresService) async throws -> CredentialAuthority {
        let store = PostgresAuthorityStore(service: service)
        return CredentialAuthority(
            .init(
                issuerKey: issuerKey,
                agentClasses: Self.classes,
                entitlements: EntitlementTable([
                    "canary": [Entitlement(audience: "repo", actions: ["read"], resources: ["repo/*"])],
                    "limited": [Entitlement(audience: "repo", actions: ["read"], resources: ["repo/*"])],
                ]),
                revocations: RevocationPublisher(
                    store: PostgresRevocationStore(service: service),
                    signer: revocationKey,
                    clock: SystemClock()
                ),
                audit: try await AuditLog.open(
                    store: InMemoryAuditStore(),
                    service: "authority",
                    signingKey: Ed25519.PrivateKey(),
                    salt: AuditSalt()
                ),
                store: store,
                attestor: JoinTokenAttestor(clock: SystemClock(), store: store)
            )
        )
    }

    func start(_ count: Int, _ arguments: [String], extra: [String: String] = [:]) async throws -> [HelperProcess] {
        var helpers: [HelperProcess] = []
        for _ in 0..<count {
            helpers.append(try HelperProcess(arguments, environment: environment.merging(extra) { $1 }))
        }
        for helper in helpers {
            let ready = await helper.next()
            #expect(ready == "ready", "a helper did not start: \(String(describing: ready))")
        }
        return helpers
    }
}

/// Every `ok …` / `err …` item of one result line.
private func outcomes(_ line: String?) -> [String] { (line ?? "").split(separator: ";").map(String.init) }

@Suite(
    "Several processes on one database",
    .serialized,
    .enabled(if: PostgresTestEnvironment.enabled, PostgresTestEnvironment.skipNote)
)
struct PostgresMultiProcessTests {
    @Test("two authority processes issuing one step at once: one step number, one live token, no lost refresh")
    func twoAuthoritiesIssue() async throws {
        try await PostgresFixture.with { fixture, service in
            let deployment = SharedDeployment()
            let authority = try await deployment.authority(service)
            let agent = try AgentIdentity("spiffe://acme.test/agent/canary/1")
            try await authority.register(agent, publicKey: Ed25519.PrivateKey().publicKey, agentClass: "canary")
            let task = try await authority.openTask(for: agent, objective: "o", intent: "i", deadline: .seconds(300))
            let helpers = try await deployment.start(2, ["authority", fixture.schema])
            defer { for helper in helpers { helper.stop() } }
            for helper in helpers { helper.send("issue \(task) 10") }
            var results: [String] = []
            for helper in helpers { results += outcomes(await helper.next()) }
            #expect(results.count == 20)
            let issued = results.filter { $0.hasPrefix("ok ") }
            for failure in results where !failure.hasPrefix("ok ") {
                #expect(failure.hasPrefix("err authority:"), "untyped failure: \(failure)")
            }
            #expect(!issued.isEmpty)
            let info = try #require(try await authority.task(task))
            let probe = try #require(info.steps["probe"])
            #expect(probe.number == 1, "one step, one number")
            #expect(probe.refreshCount >= issued.count - 1, "a refresh was lost: \(probe.refreshCount), \(results)")
            let live = try #require(probe.live)
            #expect(issued.last.map { _ in true } ?? false)
            #expect(issued.contains("ok \(live.token.id)"), "the live token is one a process was given")
        }
    }

    @Test("the refresh limit holds across two authority processes refreshing at once")
    func twoAuthoritiesRefresh() async throws {
        try await PostgresFixture.with { fixture, service in
            let deployment = SharedDeployment()
            let authority = try await deployment.authority(service)
            let agent = try AgentIdentity("spiffe://acme.test/agent/limited/1")
            try await authority.register(agent, publicKey: Ed25519.PrivateKey().publicKey, agentClass: "limited")
            let task = try await authority.openTask(for: agent, objective: "o", intent: "i", deadline: .seconds(300))
            _ = try await authority.issue(
                task: task,
                step: StepGrant(name: "probe", audience: "repo", actions: ["read"], resources: ["repo/a"])
            )
            let helpers = try await deployment.start(2, ["authority", fixture.schema])
            defer { for helper in helpers { helper.stop() } }
            for helper in helpers { helper.send("refresh \(task) 6") }
            var results: [String] = []
            for helper in helpers { results += outcomes(await helper.next()) }
            let succeeded = results.filter { $0.hasPrefix("ok ") }.count
            #expect((1...2).contains(succeeded), "\(succeeded) refreshes succeeded with refreshLimit 2: \(results)")
            for failure in results where !failure.hasPrefix("ok ") {
                #expect(failure.hasPrefix("err authority:"), "untyped failure: \(failure)")
            }
            #expect(try await authority.task(task)?.steps["probe"]?.refreshCount == 2, "no refresh lost")
        }
    }

    @Test("a join token presented to two authority processes at once attests exactly once")
    func joinTokenOnce() async throws {
        try await PostgresFixture.with { fixture, service in
            let deployment = SharedDeployment()
            let issuing = JoinTokenAttestor(clock: SystemClock(), store: PostgresAuthorityStore(service: service))
            let helpers = try await deployment.start(2, ["authority", fixture.schema])
            defer { for helper in helpers { helper.stop() } }
            for n in 0..<5 {
                let identity = try AgentIdentity("spiffe://acme.test/agent/worker/j\(n)")
                let join = try await issuing.issueJoinToken(for: identity, agentClass: "canary")
                for helper in helpers { helper.send("attest \(join.text) 3") }
                var results: [String] = []
                for helper in helpers { results += outcomes(await helper.next()) }
                #expect(results.filter { $0 == "ok" }.count == 1, "join token \(n): \(results)")
            }
            #expect(try await PostgresAuthorityStore(service: service).outstandingJoinTokens().isEmpty)
        }
    }

    @Test("three gatekeeper processes of one audience: a proof replayed to another replica is denied")
    func replayAcrossGatekeepers() async throws {
        try await PostgresFixture.with { fixture, service in
            let deployment = SharedDeployment()
            let authority = try await deployment.authority(service)
            let agentKey = Ed25519.PrivateKey()
            let agent = try AgentIdentity("spiffe://acme.test/agent/canary/1")
            try await authority.register(agent, publicKey: agentKey.publicKey, agentClass: "canary")
            let task = try await authority.openTask(for: agent, objective: "o", intent: "i", deadline: .seconds(300))
            let issued = try await authority.issue(
                task: task,
                step: StepGrant(name: "probe", audience: "repo", actions: ["read"], resources: ["repo/a"])
            )
            _ = try await RevocationPublisher(
                store: PostgresRevocationStore(service: service),
                signer: deployment.revocationKey,
                clock: SystemClock()
            ).publishHead()
            let gates = try await deployment.start(3, ["gate", fixture.schema, "repo"])
            defer { for gate in gates { gate.stop() } }
            for round in 0..<5 {
                let proof = ProofOfPossession.sign(
                    token: issued.token,
                    request: TokenRequest(audience: "repo", action: "read", resource: "repo/a"),
                    holderKey: agentKey,
                    at: SystemClock().now()
                )
                // The same request to all three replicas at once.
                for gate in gates { gate.send("authorize \(issued.token.text) \(proof.text) read repo/a") }
                var answers: [String] = []
                for gate in gates { answers.append(await gate.next() ?? "gone") }
                #expect(answers.filter { $0 == "allow" }.count == 1, "round \(round): \(answers)")
                #expect(answers.filter { $0 == "deny replayed" }.count == 2, "round \(round): \(answers)")
            }
        }
    }
}

/// Revocation propagation over loopback: from `revoke` returning to each verifier process holding the revocation.
/// Run with `WRIT_POSTGRES_BENCH=1` (prints p50/p99/max; asserts nothing about time).
@Suite(
    "Revocation propagation (WRIT_POSTGRES_BENCH=1)",
    .serialized,
    .enabled(
        if: PostgresTestEnvironment.url != nil && ProcessInfo.processInfo.environment["WRIT_POSTGRES_BENCH"] == "1"
    )
)
struct PostgresPropagationBenchmark {
    static let revocations = Int(ProcessInfo.processInfo.environment["WRIT_POSTGRES_BENCH_COUNT"] ?? "") ?? 200

    @Test("propagation to N follower processes, LISTEN/NOTIFY and polling-only", arguments: [1, 3, 8])
    func propagation(_ followers: Int) async throws {
        for (mode, extra) in [
            ("listen/notify (poll 1 s)", ["WRIT_HELPER_POLL_MS": "1000"]),
            ("polling only (poll 100 ms)", ["WRIT_HELPER_POLL_MS": "100", "WRIT_HELPER_NO_LISTEN": "1"]),
        ] {
            try await PostgresFixture.with { fixture, service in
                let deployment = SharedDeployment()
                let publisher = RevocationPublisher(
                    store: PostgresRevocationStore(service: service),
                    signer: deployment.revocationKey,
                    clock: SystemClock()
                )
                _ = try await publisher.publishHead()
                let helpers = try await deployment.start(followers, ["follow", fixture.schema], extra: extra)
                defer { for helper in helpers { helper.stop() } }
                var samples: [Double] = []
                var fromStart: [Double] = []
                func milliseconds(_ d: Duration) -> Double {
                    Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15
                }
                let coversUntil = SystemClock().now().advanced(by: .seconds(3600))
                for n in 1...Self.revocations {
                    for helper in helpers { helper.send("wait \(n)") }
                    try await Task.sleep(for: .milliseconds(2))
                    let started = ContinuousClock.now
                    _ = try await publisher.revoke(
                        .block(RevocationID(high: UInt64(n), low: UInt64(n))),
                        reason: .manual,
                        coversUntil: coversUntil
                    )
                    let returned = ContinuousClock.now
                    for helper in helpers {
                        guard let (line, at) = await helper.nextTimed(), line.hasPrefix("applied \(n) ") else {
                            Issue.record("follower did not apply #\(n)")
                            return
                        }
                        let elapsed = at < returned ? Duration.zero : at - returned
                        samples.append(milliseconds(elapsed))
                        fromStart.append(milliseconds(at - started))
                    }
                }
                samples.sort()
                fromStart.sort()
                func quantile(_ q: Double, _ samples: [Double]) -> Double {
                    samples[min(samples.count - 1, Int(Double(samples.count) * q))]
                }
                let fromReturn = String(
                    format: "after revoke returned p50 %.2f / p99 %.2f / max %.2f ms",
                    quantile(0.5, samples),
                    quantile(0.99, samples),
                    samples.last ?? 0
                )
                let fromCall = String(
                    format: "after revoke was called p50 %.2f / p99 %.2f / max %.2f ms",
                    quantile(0.5, fromStart),
                    quantile(0.99, fromStart),
                    fromStart.last ?? 0
                )
                print(
                    "propagation \(mode), \(followers) follower process(es), \(samples.count) samples: \(fromReturn); \(fromCall)"
                )
            }
        }
    }
}
#endif
