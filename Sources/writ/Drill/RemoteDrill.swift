#if CLI
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Writ
import WritAudit
import WritCrypto
import WritHTTP
import WritIdentity
import WritRevocation
import WritTokens

/// The revocation drill against a running deployment (`writ drill --deployment FILE`, `Docs/Drill.md`).
///
/// The operator registers a fresh canary agent of the drill class (a join token), the agent attests and opens a
/// task, and then, service by service: a canary step token (audience = the verifier, `drill.probe` on
/// `drill/canary`) is issued and used at the probe route (it must be allowed); it is refreshed (the refreshed token
/// must work, the superseded one must be denied); the refreshed one is revoked by block through the operator's
/// `/v1/revocations`, and the probe is repeated until it is denied (the time is recorded); the verifier's signed
/// watermark, fetched from the authority, must cover the revocation's feed sequence with the authority's hash; and
/// the service's audit entries since the drill began, fetched from its `GET /v1/audit` and verified with its audit
/// key, must hold the allowed call and the denial. Every wait is bounded by `timeout`, so a dead or deaf service
/// fails its cells and the drill moves on.
struct RemoteDrill: Sendable {
    let deployment: DrillDeployment
    /// The longest wait for one expected outcome (a denial, a watermark, an audit entry).
    let timeout: Duration
    let http: HTTPClient
    let authority: WritAuthorityClient
    let clock = SystemClock()

    init(deployment: DrillDeployment, timeout: Duration, http: HTTPClient) {
        self.deployment = deployment
        self.timeout = timeout
        self.http = http
        authority = WritAuthorityClient(
            origin: deployment.authority,
            audience: deployment.authorityAudience,
            httpClient: http,
            timeout: .seconds(5)
        )
    }

    /// The canary agent, once attested, and its task.
    struct Canary: Sendable {
        let document: IdentityDocument
        let key: Ed25519.PrivateKey
        let task: String
    }

    /// Runs the drill on every service, one after another.
    ///
    /// - Throws: ``CLIError`` with exit 2 when the authority cannot be reached, exit 1 when it refuses the drill.
    func run() async throws -> RemoteDrillReport {
        let canary = try await enrol()
        var rows: [RemoteDrillReport.Row] = []
        for service in deployment.services { rows.append(await drill(service, canary)) }
        try? await authority.completeTask(canary.task, as: canary.document, key: canary.key)
        return RemoteDrillReport(rows: rows)
    }

    /// Registers, attests and gives a task to a fresh canary agent.
    func enrol() async throws -> Canary {
        let origin = deployment.authority.description
        do {
            _ = try await authority.trustBundle()
        } catch let error where error.code == .transport {
            throw CLIError.input("authority \(origin) is unreachable: \(describe(error.underlying ?? error))")
        } catch {
            throw CLIError.input("authority \(origin) does not answer as a Writ authority: \(error)")
        }
        let key = Ed25519.PrivateKey()
        let instance = "drill-" + String(key.publicKey.keyID.description.prefix(12))
        let identity: AgentIdentity
        do { identity = try AgentIdentity("spiffe://writ.drill/agent/\(deployment.drillClass)/\(instance)") } catch {
            throw CLIError.input("drillClass: '\(deployment.drillClass)' cannot name an agent (\(error))")
        }
        do {
            let join = try await authority.issueJoinToken(
                .init(identity: identity.description, agentClass: deployment.drillClass, ttlSeconds: 300),
                operatorKey: deployment.operatorKey
            )
            let document = try await authority.attest(join.evidence(signingKey: key), key: key)
            let task = try await authority.openTask(
                .init(objective: "revocation drill", intent: "drill", deadlineSeconds: 900),
                as: document,
                key: key
            )
            return Canary(document: document, key: key, task: task)
        } catch {
            throw CLIError.rejected(
                "authority \(origin) refused the drill's canary agent (\(deployment.drillClass)): \(error)"
            )
        }
    }

    // MARK: One service

    /// What a probe call got.
    enum ProbeResult: Sendable, CustomStringConvertible {
        case allowed(Int)
        case refused(Int, String)
        case unreachable(String)

        var isAllowed: Bool { if case .allowed = self { true } else { false } }
        /// A 401/403: the service denied the token (a 503 — stale revocation data — is not a denial of it).
        var isDenied: Bool { if case .refused(let status, _) = self { status == 401 || status == 403 } else { false } }
        var isUnreachable: Bool { if case .unreachable = self { true } else { false } }

        var description: String {
            switch self {
            case .allowed(let status): "allowed (HTTP \(status))"
            case .refused(let status, let code): "denied (HTTP \(status) \(code))"
            case .unreachable(let why): "unreachable (\(why))"
            }
        }
    }

    func drill(_ service: DrillDeployment.Service, _ canary: Canary) async -> RemoteDrillReport.Row {
        func row(
            _ revocation: RemoteDrillReport.Check,
            _ refresh: RemoteDrillReport.Check,
            _ logging: RemoteDrillReport.Check
        )
            -> RemoteDrillReport.Row
        {
            RemoteDrillReport.Row(
                service: service.name,
                verifier: service.verifier,
                revocation: revocation,
                refresh: refresh,
                logging: logging
            )
        }
        func failed(_ detail: String) -> RemoteDrillReport.Check {
            .init(passed: false, milliseconds: 0, detail: detail)
        }
        let audit = WritServiceAuditClient(
            origin: service.origin,
            service: service.verifier,
            httpClient: http,
            timeout: .seconds(5)
        )
        // Where the service's log stands before the drill touches it (its entries from here on are the drill's).
        var auditStart: UInt64?
        var auditProblem: String?
        do {
            auditStart =
                try await audit.verifiedPage(
                    after: .max,
                    limit: 0,
                    operatorKey: deployment.operatorKey,
                    logKey: service.auditKey
                ).size
        } catch let error as WritHTTPError where error.code == .transport {
            let why = "\(service.origin) unreachable: \(describe(error.underlying ?? error))"
            return row(failed(why), failed(why), failed(why))
        } catch {
            auditProblem = "\(error)"
        }

        let grant = StepGrant(
            name: "drill-\(service.name)",
            audience: service.verifier,
            actions: [RevocationDrill.canaryAction],
            resources: [ResourcePattern(stringLiteral: RevocationDrill.canaryResource)],
            duration: .seconds(60)
        )
        let clock = ContinuousClock()

        // Refresh: issue, use (allowed), refresh; the refreshed token works, the superseded one is denied.
        var first: IssuedToken?
        var refreshed: IssuedToken?
        var refreshCheck: RemoteDrillReport.Check
        var refreshStart = clock.now
        do {
            let issued = try await exchange(canary, task: canary.task, step: grant)
            first = issued
            let use = await probe(issued.token, service, canary)
            if use.isUnreachable {
                let why = "probe \(service.probe.method) \(service.probe.path): \(use)"
                return row(failed(why), failed(why), failed(why))
            }
            refreshStart = clock.now
            let next = try await exchange(canary, task: canary.task, refresh: grant.name)
            refreshed = next
            let newUse = await probe(next.token, service, canary)
            let old = await poll({ await probe(issued.token, service, canary) }, until: \.isDenied)
            refreshCheck = .init(
                passed: use.isAllowed && newUse.isAllowed && old.isDenied,
                milliseconds: ms(refreshStart.duration(to: clock.now)),
                detail: "first use \(use); refreshed token \(newUse); superseded token \(old)"
            )
        } catch {
            refreshCheck = .init(
                passed: false,
                milliseconds: ms(refreshStart.duration(to: clock.now)),
                detail: "\(error)"
            )
        }

        // Revocation: revoke the live token by block; the probe must be denied, the watermark must cover it.
        var revocationCheck: RemoteDrillReport.Check
        if let live = refreshed {
            revocationCheck = await revoke(live, at: service, canary)
        } else {
            revocationCheck = failed("no refreshed token to revoke")
        }

        // Logging: the service's verified log holds the allowed call and the denial after the revocation.
        let loggingCheck: RemoteDrillReport.Check
        if let auditProblem {
            loggingCheck = failed("the audit log cannot be read: \(auditProblem)")
        } else if let first, let refreshed {
            loggingCheck = await logged(
                allowed: first.token.id.description,
                denied: refreshed.token.id.description,
                from: auditStart ?? 0,
                audit,
                service
            )
        } else {
            loggingCheck = failed("no tokens were used to look for")
        }
        return row(revocationCheck, refreshCheck, loggingCheck)
    }

    /// Revokes `live`'s block and waits for the denial and the covering watermark.
    func revoke(
        _ live: IssuedToken,
        at service: DrillDeployment.Service,
        _ canary: Canary
    ) async -> RemoteDrillReport.Check {
        let clock = ContinuousClock()
        var start = clock.now
        do {
            let before = try await authority.feedPage(after: 0, limit: 1).head?.sequence ?? 0
            start = clock.now
            try await authority.revoke(
                .init(block: live.revocationID.description, reason: RevocationReason.manual.rawValue),
                operatorKey: deployment.operatorKey
            )
            let denial = await poll({ await probe(live.token, service, canary) }, until: \.isDenied)
            let deniedAfter = ms(start.duration(to: clock.now))
            guard denial.isDenied else {
                return .init(
                    passed: false,
                    milliseconds: deniedAfter,
                    detail: "revoked token still \(denial) after \(timeout.components.seconds) s"
                )
            }
            guard let entry = try await feedEntry(for: .block(live.revocationID), after: before) else {
                return .init(passed: false, milliseconds: deniedAfter, detail: "the revocation is not in the feed")
            }
            let watermark = try await covering(entry.sequence, service)
            guard let report = watermark else {
                return .init(
                    passed: false,
                    milliseconds: deniedAfter,
                    detail: "revoked token \(denial) in \(RemoteDrillReport.format(deniedAfter)) ms; no signed "
                        + "watermark of \(service.verifier) covers revocation #\(entry.sequence)"
                )
            }
            let expected = report.sequence == entry.sequence ? entry : try await feedEntry(at: report.sequence)
            guard let expected, expected.hash == report.hash else {
                return .init(
                    passed: false,
                    milliseconds: deniedAfter,
                    detail: "watermark \(report) names another hash than the authority's feed at #\(report.sequence)"
                )
            }
            return .init(
                passed: true,
                milliseconds: deniedAfter,
                detail: "revocation #\(entry.sequence): \(denial) after \(RemoteDrillReport.format(deniedAfter)) ms; "
                    + "signed watermark \(report)"
            )
        } catch {
            return .init(passed: false, milliseconds: ms(start.duration(to: clock.now)), detail: "\(error)")
        }
    }

    /// The verifier's signed watermark once it covers `sequence`, or `nil` at the timeout.
    func covering(_ sequence: UInt64, _ service: DrillDeployment.Service) async throws -> WatermarkReport? {
        let deadline = ContinuousClock.now + timeout
        while true {
            let reports = try await authority.watermarks(
                verifier: service.verifier,
                operatorKey: deployment.operatorKey,
                verifierKey: service.reportKey
            )
            if let report = reports.first(where: { $0.sequence >= sequence }) { return report }
            if ContinuousClock.now >= deadline { return nil }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// The feed entry revoking `target`, after sequence `after`.
    func feedEntry(for target: RevocationTarget, after: UInt64) async throws -> SignedRevocationEntry? {
        var cursor = after
        while true {
            let page = try await authority.feedPage(after: cursor, limit: 1000)
            if let entry = page.entries.first(where: { $0.entry.target == target }) { return entry }
            guard let last = page.entries.last, last.sequence > cursor else { return nil }
            cursor = last.sequence
        }
    }

    /// The feed entry at `sequence`.
    func feedEntry(at sequence: UInt64) async throws -> SignedRevocationEntry? {
        guard sequence > 0 else { return nil }
        return try await authority.feedPage(after: sequence - 1, limit: 1).entries.first { $0.sequence == sequence }
    }

    /// Waits until the service's verified log (from `start`) holds a `used` entry of `allowed` and a `denied` entry of
    /// `denied`.
    func logged(
        allowed: String,
        denied: String,
        from start: UInt64,
        _ audit: WritServiceAuditClient,
        _ service: DrillDeployment.Service
    ) async -> RemoteDrillReport.Check {
        let clock = ContinuousClock()
        let began = clock.now
        let deadline = began + timeout
        var entries: [AuditEntry] = []
        var size = start
        do {
            while true {
                var next = start + UInt64(entries.count)
                repeat {
                    let page = try await audit.verifiedPage(
                        after: next,
                        operatorKey: deployment.operatorKey,
                        logKey: service.auditKey
                    )
                    entries += page.entries
                    size = page.size
                    next = start + UInt64(entries.count)
                } while next < size
                let use = entries.first { $0.event.kind == .used && $0.event.tokenID == allowed }
                let denial = entries.first { $0.event.kind == .denied && $0.event.tokenID == denied }
                if let use, let denial {
                    return .init(
                        passed: true,
                        milliseconds: ms(began.duration(to: clock.now)),
                        detail: "\(entries.count) entries verified against \(service.verifier)'s checkpoint of size "
                            + "\(size); allowed call #\(use.index), denial #\(denial.index)"
                    )
                }
                if clock.now >= deadline {
                    var missing: [String] = []
                    if use == nil { missing.append("the allowed call") }
                    if denial == nil { missing.append("the denial after the revocation") }
                    return .init(
                        passed: false,
                        milliseconds: ms(began.duration(to: clock.now)),
                        detail: "\(entries.count) verified entries from #\(start) lack "
                            + missing.joined(separator: " and ")
                    )
                }
                try await Task.sleep(for: .milliseconds(50))
            }
        } catch {
            return .init(passed: false, milliseconds: ms(began.duration(to: clock.now)), detail: "\(error)")
        }
    }

    // MARK: Calls

    func exchange(
        _ canary: Canary,
        task: String,
        step: StepGrant? = nil,
        refresh: String? = nil
    ) async throws
        -> IssuedToken
    {
        try await authority.exchange(
            .init(subjectToken: canary.document.text, task: task, step: step, refreshStep: refresh),
            as: canary.document,
            key: canary.key
        )
    }

    /// Calls the service's probe route with `token` and a fresh proof.
    func probe(_ token: CapabilityToken, _ service: DrillDeployment.Service, _ canary: Canary) async -> ProbeResult {
        let method = service.probe.method
        let target = service.probe.path
        var request = HTTPClientRequest(url: service.origin.description + target)
        request.method = .init(rawValue: method)
        do {
            let fields = try WritHTTPSigner.headerFields(
                credential: .token(token),
                key: canary.key,
                request: TokenRequest(
                    audience: service.verifier,
                    action: RevocationDrill.canaryAction,
                    resource: RevocationDrill.canaryResource
                ),
                method: method,
                origin: service.origin,
                target: target,
                body: [],
                at: clock.now()
            )
            for field in fields { request.headers.add(name: field.name, value: field.value) }
        } catch {
            return .unreachable("the probe cannot be signed: \(error)")
        }
        do {
            let response = try await http.execute(request, timeout: .seconds(5))
            let body = try await response.body.collect(upTo: 64 << 10)
            let status = Int(response.status.code)
            if (200..<300).contains(status) { return .allowed(status) }
            let refusal = try? JSONDecoder().decode(WritRefusal.self, from: Data(body.readableBytesView))
            return .refused(status, refusal?.code ?? "-")
        } catch {
            return .unreachable(describe(error))
        }
    }

    /// Repeats `attempt` until `done` holds of its result or the timeout passes; the last result.
    ///
    /// The pause between attempts doubles from 5 ms to at most ``maximumProbeInterval``, so a wait costs a
    /// service at most ~7 probes a second: the drill must not trip the service's anomaly detectors (more than 100
    /// requests in 10 s is a rate spike), which would quarantine the canary and report it to the authority. The
    /// time of the first denial seen is therefore late by at most one pause.
    func poll(_ attempt: () async -> ProbeResult, until done: (ProbeResult) -> Bool) async -> ProbeResult {
        let deadline = ContinuousClock.now + timeout
        var pause = Duration.milliseconds(5)
        while true {
            let result = await attempt()
            if done(result) || ContinuousClock.now >= deadline { return result }
            try? await Task.sleep(for: pause)
            pause = min(pause * 2, Self.maximumProbeInterval)
        }
    }

    /// The longest pause between two probes of one wait.
    static let maximumProbeInterval: Duration = .milliseconds(150)

    func ms(_ duration: Duration) -> Double {
        Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
    }
}
#endif
