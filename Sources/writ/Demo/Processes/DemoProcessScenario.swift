#if CLI
import AsyncHTTPClient
import Foundation
import Writ
import WritCrypto
import WritHTTP
import WritIdentity
import WritRevocation
import WritTokens

/// The mission across real processes: the authority, three services and the broker as `writ serve` children on
/// loopback; the planner, its sub-agents and the drill's canary in this process, each with its own key, calling
/// them over HTTP. Real clock throughout.
final class DemoProcessScenario {
    /// An attested agent: its identity, its own key, and the identity document the authority issued.
    struct Agent: Sendable {
        let identity: AgentIdentity
        let key: Ed25519.PrivateKey
        let document: IdentityDocument
    }

    /// One revocation's time to the first denial on one service.
    struct Timing: Codable, Sendable {
        let revocation: String
        let service: String
        /// Milliseconds from the revoke call returning to the first denial seen; `nil`: none within the limit.
        let milliseconds: Double?
        let code: String
    }

    /// One service's summary over every revocation measured.
    struct TimingSummary: Codable, Sendable {
        let service: String
        let samples: Int
        let p50: Double
        let p99: Double
        let max: Double
    }

    let processes: DemoProcesses
    let setup: DemoProcessSetup
    let report: DemoReport
    let wire: DemoWire
    let client: WritAuthorityClient
    let legacy: DemoLegacyAPI
    let relay: DemoRelay
    var timings: [Timing] = []
    var pending: [String] = []
    var watermarkProofs: [String] = []
    /// The tasks the demo opened (for the timeline).
    var tasks: [String] = []

    static let trustDomain = DemoDeployment.trustDomain

    init(
        processes: DemoProcesses,
        report: DemoReport,
        http: HTTPClient,
        legacy: DemoLegacyAPI,
        relay: DemoRelay
    ) throws {
        self.relay = relay
        self.processes = processes
        self.setup = processes.setup
        self.report = report
        self.legacy = legacy
        var urls: [String: String] = [:]
        for verifier in processes.setup.everyVerifier { urls[verifier.name] = processes.setup.url(verifier.name) }
        self.wire = DemoWire(http: http, urls: urls)
        self.client = WritAuthorityClient(origin: try WritOrigin(processes.setup.authorityURL), httpClient: http)
    }

    var operatorKey: Ed25519.PrivateKey { setup.operatorKey }

    /// Every scene in order.
    func run() async throws {
        let cast = try await attestation()
        let task = try await stepTokens(cast)
        try await delegation(cast)
        try await refresh(cast, task: task)
        try await checkpoint(cast, task: task)
        try await authorityRestart(cast, task: task)
        try await replay(cast)
        try await anomaly(cast, task: task)
        try await broker(cast, task: task)
        let next = try await handOff(cast, task: task)
        try await completion(cast, task: next)
        try await serviceCrash()
        try await partition()
        try await revocationTiming()
        try drill()
        try await mergedTimeline()
    }

    // MARK: Helpers

    /// Attests an agent of `className` with a one-time join token the operator issued.
    func enroll(_ className: String, instance: String, supervisor: AgentIdentity? = nil) async throws -> Agent {
        let identity = try AgentIdentity("spiffe://\(Self.trustDomain)/agent/\(className)/\(instance)")
        let key = Ed25519.PrivateKey()
        let join = try await client.issueJoinToken(
            .init(identity: identity.description, agentClass: className, supervisor: supervisor?.description),
            operatorKey: operatorKey
        )
        let document = try await client.attest(join.evidence(signingKey: key), key: key)
        return Agent(identity: identity, key: key, document: document)
    }

    /// A credential provider for `agent`, its tokens from the authority over HTTP.
    func provider(_ agent: Agent) -> CredentialProvider {
        CredentialProvider(
            identity: agent.identity,
            key: agent.key,
            source: HTTPTokenSource(client: client, identity: agent.document, key: agent.key)
        )
    }

    /// Records an expected answer code (`ok` for allowed).
    func expect(_ name: String, _ answer: DemoAnswer, _ code: String) {
        report.expect(name, answer.code == code, "\(answer)")
    }

    /// Runs `body`; the error text if it threw, `nil` if it succeeded.
    func attempt<T>(_ body: () async throws -> T) async -> String? {
        do {
            _ = try await body()
            return nil
        } catch {
            return "\(error)"
        }
    }

    /// The feed's last sequence (paged from the authority).
    func feedTip() async throws -> UInt64 {
        var tip: UInt64 = 0
        while true {
            let page = try await client.feedPage(after: tip, limit: 1000)
            guard let last = page.entries.last else { return tip }
            tip = last.sequence
        }
    }

    /// Polls until `answer` is no longer allowed (a fresh proof each time, every 8 ms); the time from
    /// `since` to the first refusal seen, and the refusal's code; `nil` if it still answers after `limit`.
    static func timeToDenial(
        since: ContinuousClock.Instant,
        limit: Duration = .seconds(10),
        _ answer: @Sendable () async -> DemoAnswer
    ) async -> (Duration?, String) {
        while true {
            let seen = await answer()
            if !seen.isAllowed { return (since.duration(to: .now), seen.code) }
            if since.duration(to: .now) > limit { return (nil, seen.code) }
            // Every 8 ms: often enough to resolve the follower's poll, rarely enough that one token stays under the
            // services' rate-spike detector (100 requests in 10 s), which would revoke the agent by itself.
            try? await Task.sleep(for: .milliseconds(8))
        }
    }

    /// Measures one revocation on several services at once (each polled concurrently).
    func measure(
        _ revocation: String,
        since: ContinuousClock.Instant,
        _ probes: [(String, @Sendable () async -> DemoAnswer)]
    ) async -> [Timing] {
        let results = await withTaskGroup(of: Timing.self) { group in
            for (service, probe) in probes {
                group.addTask {
                    let (elapsed, code) = await Self.timeToDenial(since: since, probe)
                    return Timing(
                        revocation: revocation,
                        service: service,
                        milliseconds: elapsed.map(milliseconds),
                        code: code
                    )
                }
            }
            var all: [Timing] = []
            for await timing in group { all.append(timing) }
            return all.sorted { $0.service < $1.service }
        }
        timings += results
        return results
    }

    /// Waits until every verifier's signed watermark report, read from the authority (`GET /v1/watermarks`, the
    /// operator's key), covers `sequence`; each report is checked against the report key the demo gave that
    /// verifier (not the key the authority says it registered). One line per verifier. Works on SQLite and
    /// PostgreSQL alike.
    func watermarkProof(covering sequence: UInt64, within limit: Duration = .seconds(10)) async -> (Bool?, String) {
        let started = ContinuousClock.now
        var seen: [String: UInt64] = [:]
        var problems: [String: String] = [:]
        while true {
            for verifier in setup.everyVerifier {
                guard let key = setup.reportKeys[verifier.name] else { continue }
                do {
                    let reports = try await client.watermarks(
                        verifier: verifier.name,
                        operatorKey: operatorKey,
                        verifierKey: key.publicKey
                    )
                    for report in reports { seen[verifier.name] = max(seen[verifier.name] ?? 0, report.sequence) }
                    problems[verifier.name] = nil
                } catch {
                    problems[verifier.name] = "\(error)"
                }
            }
            let complete = setup.everyVerifier.allSatisfy { (seen[$0.name] ?? 0) >= sequence }
            if complete || started.duration(to: .now) > limit {
                let line = setup.everyVerifier.map { verifier in
                    "\(verifier.name)@\(seen[verifier.name].map(String.init) ?? "none")"
                        + (problems[verifier.name].map { " (\($0))" } ?? "")
                }
                .joined(separator: " ")
                return (complete, line + " (after \(ms(started.duration(to: .now))))")
            }
            try? await Task.sleep(for: .milliseconds(50))
        }
    }

    /// Percentiles per service of every revoke → deny timing measured.
    var timingSummary: [TimingSummary] {
        let services = setup.everyVerifier.map(\.name)
        return services.compactMap { service in
            // The anomaly's time includes detection and reporting: not a revoke → deny figure.
            let values = timings.filter { $0.service == service && $0.revocation != "anomaly" }
                .compactMap(\.milliseconds).sorted()
            guard !values.isEmpty else { return nil }
            func percentile(_ p: Double) -> Double {
                values[min(values.count - 1, max(0, Int((p * Double(values.count)).rounded(.up)) - 1))]
            }
            return TimingSummary(
                service: service,
                samples: values.count,
                p50: percentile(0.5),
                p99: percentile(0.99),
                max: values.last ?? 0
            )
        }
    }
}
#endif
