import Writ
import WritCrypto
import WritPolicy
import WritTokens

// Workloads run outside the benchmark runner, by a harness with a synchronous main that Docs/Performance.md
// compiles from this file and Deployment.swift against the package's release build:
//
// - instruction counts under valgrind's callgrind, beside raw libsodium. The benchmark runner cannot run under
//   valgrind 3.19 (its async main parks the main thread in libdispatch's sigsuspend, and valgrind crashes). Each
//   workload runs two batches of `n` and brackets the second with gatebenchZeroCounters() /
//   gatebenchDumpCounters() (`--zero-before` / `--dump-before`), so caches and lazily initialised globals are warm
//   and the dump holds exactly the measured batch;
// - "scaling": wall time of a batch split over 1 and 2 concurrent workers. The benchmark runner blocks a thread of
//   the cooperative pool while an async benchmark runs, so on 2 cores it cannot show parallelism; the harness's
//   main thread waits instead, leaving both pool threads to the workers.

/// The workloads ``runHarnessWorkload(_:requests:)`` knows.
let harnessWorkloads = [
    "verify-x1", "verify-x2", "sign", "cached-1-block", "fresh-1-block", "cached-2-block", "fresh-2-block", "issue",
    "phases", "scaling",
]

/// Runs one workload twice and brackets the second run.
func runHarnessWorkload(_ which: String, requests n: Int) async throws {
    let key = Ed25519.PrivateKey()
    let otherKey = Ed25519.PrivateKey()
    let message = [UInt8](repeating: 7, count: 200)
    let otherMessage = [UInt8](repeating: 9, count: 200)
    let signature = key.signature(for: message)
    let otherSignature = otherKey.signature(for: otherMessage)
    let deployment = try await Deployment.make()
    for round in 0..<2 {
        let counted = round == 1
        switch which {
        case "verify-x1":
            if counted { gatebenchZeroCounters() }
            for _ in 0..<n { keep(key.publicKey.isValidSignature(signature, for: message)) }
            if counted { gatebenchDumpCounters() }
        case "verify-x2":
            if counted { gatebenchZeroCounters() }
            for _ in 0..<n {
                keep(key.publicKey.isValidSignature(signature, for: message))
                keep(otherKey.publicKey.isValidSignature(otherSignature, for: otherMessage))
            }
            if counted { gatebenchDumpCounters() }
        case "sign":
            if counted { gatebenchZeroCounters() }
            for _ in 0..<n { keep(key.signature(for: message)) }
            if counted { gatebenchDumpCounters() }
        case "cached-1-block", "fresh-1-block", "cached-2-block", "fresh-2-block":
            let delegated = which.hasSuffix("2-block")
            let requests =
                which.hasPrefix("fresh")
                ? deployment.freshRequests(n, delegated: delegated)
                : await deployment.reusedRequests(n, delegated: delegated)
            if counted { gatebenchZeroCounters() }
            let refused = await deployment.authorizeAll(requests)
            if counted { gatebenchDumpCounters() }
            precondition(refused == 0, "\(refused) requests were not allowed")
        case "issue":
            let work = try await deployment.stepsToIssue(n)
            if counted { gatebenchZeroCounters() }
            for (task, grant) in work { keep(try await deployment.authority.issue(task: task, step: grant)) }
            if counted { gatebenchDumpCounters() }
        case "phases":
            try await phases(deployment, requests: n, counted: counted)
        case "scaling":
            guard counted else { continue }
            try await scaling(deployment, requests: n) { workers in
                await withTaskGroup(of: Void.self) { group in
                    for worker in 0..<workers {
                        group.addTask {
                            for _ in stride(from: worker, to: n, by: workers) {
                                keep(key.publicKey.isValidSignature(signature, for: message))
                            }
                        }
                    }
                }
            }
        default:
            preconditionFailure("unknown workload \(which); known: \(harnessWorkloads)")
        }
    }
}

/// Prints, for raw verify (calibration: nothing shared), re-used tokens and fresh tokens, the median over seven
/// alternating rounds of the wall time per request with 1 and 2 workers, and the scaling (1-worker time over
/// 2-worker time).
func scaling(
    _ deployment: Deployment,
    requests n: Int,
    rawVerify: @escaping @Sendable (Int) async -> Void
) async throws {
    func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
    func perRequest(_ duration: Duration) -> Double {
        (Double(duration.components.seconds) * 1e6 + Double(duration.components.attoseconds) / 1e12) / Double(n)
    }
    let clock = ContinuousClock()
    for kind in [
        "raw libsodium verify (calibration)", "re-used tokens (chain cached)", "fresh tokens (chain verified)",
    ] {
        var times: [Int: [Double]] = [1: [], 2: []]
        for _ in 0..<7 {
            for workers in [1, 2] {
                let requests: [Gatekeeper.Request]
                switch kind.first {
                case "r" where kind.hasPrefix("re-used"):
                    requests = await deployment.reusedRequests(n, delegated: false)
                case "f": requests = deployment.freshRequests(n, delegated: false)
                default: requests = []
                }
                let start = clock.now
                if requests.isEmpty {
                    await rawVerify(workers)
                } else {
                    let refused = await deployment.authorizeConcurrently(requests, workers: workers)
                    precondition(refused == 0, "\(refused) requests were not allowed")
                }
                times[workers, default: []].append(perRequest(clock.now - start))
            }
        }
        let one = median(times[1]!)
        let two = median(times[2]!)
        let line = "\(kind): 1 worker \(Int(one.rounded())) us/request, 2 workers \(Int(two.rounded())) us/request"
        print(line + ", scaling \((one / two * 100).rounded() / 100)x")
    }
}

/// The steps of `Gatekeeper.evaluate` and `conclude` for a re-used 1-block token, each bracketed on its own (six
/// dumps, in this order): token text decode + digest, proof text parse, `VerifiedToken.authorize` (request checks,
/// proof verify, revocation, replay), policies (agent request + evaluate), the default detectors, the audit entry.
func phases(_ deployment: Deployment, requests n: Int, counted: Bool) async throws {
    let tokens = (0..<n).map { _ in
        deployment.token(step: stepCounter.add(1, ordering: .relaxed).newValue, delegated: false)
    }
    let requests = (0..<n).map { i in
        deployment.request(tokens[i].token, holder: tokens[i].holder, text: tokens[i].token.text, file: i)
    }
    let verifier = TokenVerifier(
        trustBundle: TrustBundle(trusting: deployment.issuerKey.publicKey),
        agentClasses: deployment.authority.agentClasses
    )
    let verified = try tokens.map { try verifier.verifyChain($0.token) }
    let policies = try PolicySet(text: servicePolicies)
    let detectors = AnomalyDetectors.defaults()
    let replayCache = InMemoryReplayCache(capacity: 1_000_000)
    let snapshot = RevocationSnapshot(maxStaleness: .seconds(30))
    snapshot.apply([], heardAt: epoch)
    let revocation = SnapshotRevocationChecker(snapshot: snapshot, clock: deployment.clock)
    let log = try await AuditLog.open(
        store: InMemoryAuditStore(),
        service: Deployment.audience,
        signingKey: Ed25519.PrivateKey(),
        salt: AuditSalt(),
        clock: deployment.clock
    )
    let prefix = "writ1_".count

    if counted { gatebenchZeroCounters() }
    for request in requests {
        keep(TokenDigest.of(Base64URL.decode(request.token.dropFirst(prefix))!))
    }
    if counted { gatebenchDumpCounters() }

    var proofs: [ProofOfPossession] = []
    proofs.reserveCapacity(n)
    if counted { gatebenchZeroCounters() }
    for request in requests { proofs.append(try ProofOfPossession(text: request.proof)) }
    if counted { gatebenchDumpCounters() }

    if counted { gatebenchZeroCounters() }
    for i in 0..<n {
        try verified[i].authorize(
            TokenRequest(audience: Deployment.audience, action: "read", resource: requests[i].resource),
            proof: proofs[i],
            at: epoch,
            replayCache: replayCache,
            revocation: revocation
        )
    }
    if counted { gatebenchDumpCounters() }

    if counted { gatebenchZeroCounters() }
    for i in 0..<n {
        let token = verified[i]
        let request = AgentRequest(
            agentID: token.subject.description,
            agentClass: token.agentClass.name,
            action: EntityUID(type: "Action", id: "read"),
            resource: EntityUID(type: "Resource", id: requests[i].resource),
            intent: token.intent ?? "",
            task: token.taskID ?? "",
            step: token.step.map(String.init) ?? "",
            token: AgentRequest.TokenFacts(
                remainingSeconds: epoch.duration(to: token.expiresAt).components.seconds,
                delegationDepth: 0,
                audience: Deployment.audience
            ),
            extra: CedarRecord([("subject", .string(token.subject.description))])
        )
        keep(policies.evaluate(request, entities: PolicyEntities()))
    }
    if counted { gatebenchDumpCounters() }

    if counted { gatebenchZeroCounters() }
    for i in 0..<n {
        let token = verified[i]
        let observation = RequestObservation(
            time: epoch,
            service: Deployment.audience,
            agent: token.subject.description,
            tokenID: token.tokenID.description,
            blockID: token.revocationIDs.last,
            rootBlockID: token.revocationIDs.first,
            holderKeyID: token.holder.keyID,
            taskID: token.taskID,
            intent: token.intent,
            action: "read",
            resource: requests[i].resource,
            outcome: .allowed
        )
        for detector in detectors { keep(detector.observe(observation)) }
    }
    if counted { gatebenchDumpCounters() }

    if counted { gatebenchZeroCounters() }
    for i in 0..<n {
        let token = verified[i]
        var event = AuditEvent(
            .used,
            time: epoch,
            agent: token.subject.description,
            task: token.taskID,
            step: token.step.map(String.init),
            tokenID: token.tokenID.description,
            revocationID: token.revocationIDs.last,
            audience: Deployment.audience,
            action: "read",
            resource: requests[i].resource,
            decision: .allow,
            reason: "permitted by repo-work",
            traceID: requests[i].traceID
        )
        event.attributes["class"] = token.agentClass.name
        event.attributes["depth"] = String(token.delegationDepth)
        event.attributes["subject"] = token.subject.description
        event.attributes["expires"] = token.expiresAt.description
        keep(try await log.record(event))
    }
    if counted { gatebenchDumpCounters() }
}
