public import WritAudit
public import WritCrypto
public import WritIdentity
public import WritRevocation
import WritTokens

/// The seed's test, run against a deployment: "verify that revocation, refresh, and logging operate across
/// every system the agent can touch".
///
/// For each service the drill mints a canary token for a canary agent, uses it, refreshes it, revokes it, and
/// confirms that (1) the revoked token is denied within the staleness bound and the service's watermark proves
/// it applied the revocation, (2) the refreshed token works and the superseded one does not, (3) issuance, use,
/// refresh and revocation each appear in verified audit logs (the authority's for issuance, refresh and
/// revocation; the service's own for use and the denials that followed).
///
/// The canary agent's class must be entitled to ``canaryAction`` on ``canaryResource`` at every service, and
/// each service's policies must permit it.
public struct RevocationDrill: Sendable {
    /// The action the canary performs.
    public static let canaryAction = "drill.probe"
    /// The resource the canary touches.
    public static let canaryResource = "drill/canary"

    /// One service under test.
    public struct Service: Sendable {
        /// The service's audience name.
        public let name: String
        /// Its gatekeeper.
        public let gatekeeper: Gatekeeper
        /// Brings the service's revocation snapshot up to date (its feed follower's `syncOnce`, or a wait for
        /// the running follower).
        public let sync: @Sendable () async throws -> Void
        /// The service's audit store and the key that signs its checkpoints.
        public let auditStore: any AuditStore

        /// Creates a service entry.
        public init(
            name: String,
            gatekeeper: Gatekeeper,
            auditStore: any AuditStore,
            sync: @escaping @Sendable () async throws -> Void
        ) {
            self.name = name
            self.gatekeeper = gatekeeper
            self.auditStore = auditStore
            self.sync = sync
        }
    }

    /// One cell of the drill's table.
    public struct Check: Sendable, Hashable, Codable {
        /// Whether the check held.
        public let passed: Bool
        /// How long it took, in milliseconds (wall time of this process).
        public let milliseconds: Double
        /// What was seen.
        public let detail: String
    }

    /// One service's row.
    public struct Row: Sendable, Hashable, Codable {
        /// The service.
        public let service: String
        /// Revocation denied within the bound, proven by the watermark.
        public let revocation: Check
        /// The refreshed token works and the superseded one does not.
        public let refresh: Check
        /// Issuance, use, refresh and revocation appear in verified audit logs.
        public let logging: Check

        /// Whether every check of the row held.
        public var passed: Bool { revocation.passed && refresh.passed && logging.passed }
    }

    /// The drill's result.
    public struct Report: Sendable, Hashable, Codable {
        /// One row per service.
        public let rows: [Row]
        /// Whether every check held.
        public var passed: Bool { rows.allSatisfy(\.passed) }

        /// A table: service × revocation / refresh / logging, ✓ or ✗ with the time each took.
        public func table() -> String {
            func cell(_ check: Check) -> String {
                (check.passed ? "✓ " : "✗ ") + String(format3(check.milliseconds)) + " ms"
            }
            let header = ["SERVICE", "REVOCATION", "REFRESH", "LOGGING"]
            let lines = [header] + rows.map { [$0.service, cell($0.revocation), cell($0.refresh), cell($0.logging)] }
            var widths = [Int](repeating: 0, count: header.count)
            for line in lines { for (i, c) in line.enumerated() { widths[i] = max(widths[i], c.count) } }
            var text = lines.map { line in
                line.enumerated().map { i, c in c + String(repeating: " ", count: widths[i] - c.count) }
                    .joined(separator: "  ")
            }.joined(separator: "\n")
            for row in rows {
                for (name, check) in [
                    ("revocation", row.revocation), ("refresh", row.refresh), ("logging", row.logging),
                ]
                where !check.passed {
                    text += "\n✗ \(row.service) \(name): \(check.detail)"
                }
            }
            return text
        }
    }

    private let authority: CredentialAuthority
    private let authorityAudit: any AuditStore
    private let revocations: RevocationPublisher
    private let agent: AgentIdentity
    private let agentKey: Ed25519.PrivateKey
    private let clock: any WallClock

    /// Creates a drill.
    ///
    /// - Parameters:
    ///   - authority: the credential authority of the deployment.
    ///   - authorityAudit: the authority's audit store (issuance, refresh and revocation are recorded there).
    ///   - revocations: the authority's revocation publisher (the feed the services follow, and their reports).
    ///   - agent: the canary agent (registered with the authority).
    ///   - agentKey: the canary agent's private key (its tokens are bound to it).
    ///   - clock: the deployment's clock.
    public init(
        authority: CredentialAuthority,
        authorityAudit: any AuditStore,
        revocations: RevocationPublisher,
        agent: AgentIdentity,
        agentKey: Ed25519.PrivateKey,
        clock: any WallClock
    ) {
        self.authority = authority
        self.authorityAudit = authorityAudit
        self.revocations = revocations
        self.agent = agent
        self.agentKey = agentKey
        self.clock = clock
    }

    /// Runs the drill on every service, one after another.
    public func run(on services: [Service]) async throws -> Report {
        let task = try await authority.openTask(
            for: agent,
            objective: "revocation drill",
            intent: "drill",
            deadline: .seconds(300)
        )
        var rows: [Row] = []
        for service in services { rows.append(await drill(service, task: task)) }
        try await authority.complete(task: task)
        return Report(rows: rows)
    }

    private func drill(_ service: Service, task: String) async -> Row {
        let elapsed = ContinuousClock()
        let grant = StepGrant(
            name: "canary-\(service.name)",
            audience: service.name,
            actions: [Self.canaryAction],
            resources: [ResourcePattern(stringLiteral: Self.canaryResource)],
            duration: .seconds(60)
        )
        var first: IssuedToken?
        var useDetail = "not used"
        var used = false

        // Refresh: issue, use, refresh, then the new token works and the old one does not.
        var refreshed: IssuedToken?
        let refreshStart = elapsed.now
        var refreshCheck: Check
        do {
            let issued = try await authority.issue(task: task, step: grant)
            first = issued
            let decision = await present(issued.token, to: service)
            used = decision.isAllowed
            useDetail = "first use: \(decision)"
            let next = try await authority.refresh(task: task, step: grant.name)
            refreshed = next
            try await service.sync()
            let newWorks = await present(next.token, to: service).isAllowed
            let oldDecision = await present(issued.token, to: service)
            refreshCheck = Check(
                passed: used && newWorks && !oldDecision.isAllowed,
                milliseconds: ms(refreshStart.duration(to: elapsed.now)),
                detail:
                    "\(useDetail); refreshed token \(newWorks ? "works" : "refused"); superseded token \(oldDecision)"
            )
        } catch {
            refreshCheck = Check(
                passed: false,
                milliseconds: ms(refreshStart.duration(to: elapsed.now)),
                detail: "\(error)"
            )
        }

        // Revocation: revoke the live token; the service must deny it and its watermark must prove it.
        let revokeStart = elapsed.now
        var revocationCheck: Check
        if let live = refreshed {
            do {
                try await authority.completeStep(task: task, step: grant.name)
                let sequence = revocations.tip?.sequence ?? 0
                try await service.sync()
                let decision = await present(live.token, to: service)
                let proof = try await revocations.revocationProof(for: sequence, expecting: [service.name])
                let proven = proof.watermarks.contains { $0.verifier == service.name && $0.sequence >= sequence }
                revocationCheck = Check(
                    passed: decision.denialCode == .revoked && proven,
                    milliseconds: ms(revokeStart.duration(to: elapsed.now)),
                    detail: "revocation #\(sequence): \(decision); watermark proof \(proven ? "complete" : "missing")"
                )
            } catch {
                revocationCheck = Check(
                    passed: false,
                    milliseconds: ms(revokeStart.duration(to: elapsed.now)),
                    detail: "\(error)"
                )
            }
        } else {
            revocationCheck = Check(passed: false, milliseconds: 0, detail: "no refreshed token to revoke")
        }

        // Logging: verified logs hold issuance, refresh and revocation (authority) and use + denials (service).
        let logStart = elapsed.now
        var loggingCheck: Check
        do {
            let authorityEntries = try await authorityAudit.readAll()
            let serviceEntries = try await service.auditStore.readAll()
            let authorityReport = AuditVerifier.verify(entries: authorityEntries)
            let serviceReport = AuditVerifier.verify(entries: serviceEntries)
            let authorityEvents = try authorityEntries.map { try AuditEntry(decoding: $0).event }
            let serviceEvents = try serviceEntries.map { try AuditEntry(decoding: $0).event }
            let firstID = first?.token.id.description
            let nextID = refreshed?.token.id.description
            let nextBlock = refreshed?.revocationID
            var missing: [String] = []
            if !authorityEvents.contains(where: { $0.kind == .issued && $0.tokenID == firstID }) {
                missing.append("issued")
            }
            if !authorityEvents.contains(where: { $0.kind == .refreshed && $0.tokenID == nextID }) {
                missing.append("refreshed")
            }
            if !authorityEvents.contains(where: { $0.kind == .revoked && $0.revocationID == nextBlock }) {
                missing.append("revoked")
            }
            if !serviceEvents.contains(where: { $0.kind == .used && $0.tokenID == firstID }) { missing.append("used") }
            if !serviceEvents.contains(where: { $0.kind == .denied && $0.tokenID == nextID }) {
                missing.append("denied after revocation")
            }
            let verified = authorityReport.isValid && serviceReport.isValid
            loggingCheck = Check(
                passed: verified && missing.isEmpty,
                milliseconds: ms(logStart.duration(to: elapsed.now)),
                detail: verified
                    ? (missing.isEmpty
                        ? "all events present in verified logs" : "missing: \(missing.joined(separator: ", "))")
                    : "verification failed: \(authorityReport.failure?.description ?? serviceReport.failure?.description ?? "")"
            )
        } catch {
            loggingCheck = Check(
                passed: false,
                milliseconds: ms(logStart.duration(to: elapsed.now)),
                detail: "\(error)"
            )
        }
        return Row(service: service.name, revocation: revocationCheck, refresh: refreshCheck, logging: loggingCheck)
    }

    private func present(_ token: CapabilityToken, to service: Service) async -> GateDecision {
        let request = TokenRequest(audience: service.name, action: Self.canaryAction, resource: Self.canaryResource)
        let proof = ProofOfPossession.sign(token: token, request: request, holderKey: agentKey, at: clock.now())
        return await service.gatekeeper.authorize(
            Gatekeeper.Request(
                token: token.text,
                proof: proof.text,
                action: Self.canaryAction,
                resource: Self.canaryResource,
                traceID: "drill"
            )
        )
    }

    private func ms(_ duration: Duration) -> Double {
        Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
    }
}

extension GateDecision {
    /// The denial code, when this is a denial.
    public var denialCode: GateDenial.Code? {
        if case .deny(let denial) = self { return denial.code }
        return nil
    }
}

/// Formats a number with at most one decimal.
private func format3(_ value: Double) -> String {
    let tenths = (value * 10).rounded()
    guard tenths.truncatingRemainder(dividingBy: 10) == 0, let whole = Int64(exactly: tenths / 10) else {
        return String(tenths / 10)
    }
    return String(whole)
}
