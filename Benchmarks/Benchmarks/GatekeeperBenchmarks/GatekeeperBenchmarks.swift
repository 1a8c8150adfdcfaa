import Benchmark
import Writ

// The gatekeeper end to end, and the authority's mint and revocation-to-deny, beside the physical limit measured
// in the same run: raw libsodium Ed25519 verify and sign through WritCrypto's thin wrappers.
//
// Each benchmark gets its own in-process deployment (Deployment.swift, set up before it runs): an authority, and
// one service whose gatekeeper has an in-memory audit log, twelve agent policies, the default anomaly detectors, a
// replay cache too large to fill, and a revocation snapshot following the authority's signed in-memory feed.
// The clock stands still, so tokens, proofs and the snapshot stay fresh. Every request carries a proof with its own
// nonce, signed before the measured region, so the replay cache never refuses one; after each measured batch every
// decision is checked (allowed, or for revocation denied as revoked), so a benchmark cannot silently measure a fast
// denial. Each benchmark's service lives for the whole benchmark, so its audit log grows by one entry per request
// (at most ~40,000 entries, ~20 MB, in memory): appends stay amortised O(1).
//
// Instruction counts (steadier than time on a shared machine) come from the same deployment through
// HarnessWorkloads.swift; the command is in Docs/Performance.md.

/// Requests per measured batch: the scaling factor (1,000), so figures read per request.
func batchSize(_ benchmark: Benchmark) -> Int { benchmark.scaledIterations.count }

func beginMeasuring(_ benchmark: Benchmark) {
    benchmark.startMeasurement()
    gatebenchZeroCounters()
}

func endMeasuring(_ benchmark: Benchmark) {
    gatebenchDumpCounters()
    benchmark.stopMeasurement()
}

// MARK: Benchmarks

let benchmarks: @Sendable () -> Void = {
    func configuration(
        _ metrics: [BenchmarkMetric] = [.wallClock, .cpuTotal, .mallocCountTotal],
        scaling: BenchmarkScalingFactor = .kilo,
        seconds: Int64 = 4,
        iterations: Int = 40
    ) -> Benchmark.Configuration {
        Benchmark.Configuration(
            metrics: metrics,
            warmupIterations: 1,
            scalingFactor: scaling,
            maxDuration: .seconds(seconds),
            maxIterations: iterations
        )
    }
    let setUp: Benchmark.BenchmarkSetupHook = { try await current.setUp() }
    let tearDown: Benchmark.BenchmarkTeardownHook = { current.tearDown() }

    // The physical limit: libsodium Ed25519 through WritCrypto's thin wrappers, over 200-byte messages.
    let key = Ed25519.PrivateKey()
    let otherKey = Ed25519.PrivateKey()
    let message = [UInt8](repeating: 7, count: 200)
    let otherMessage = [UInt8](repeating: 9, count: 200)
    let signature = key.signature(for: message)
    let otherSignature = otherKey.signature(for: otherMessage)
    let raw = configuration([.wallClock, .cpuTotal])

    Benchmark("Gatekeeper: raw libsodium verify x1 (baseline)", configuration: raw) { benchmark in
        let n = batchSize(benchmark)
        beginMeasuring(benchmark)
        for _ in 0..<n { blackHole(key.publicKey.isValidSignature(signature, for: message)) }
        endMeasuring(benchmark)
    }

    Benchmark("Gatekeeper: raw libsodium verify x2 (baseline)", configuration: raw) { benchmark in
        let n = batchSize(benchmark)
        beginMeasuring(benchmark)
        for _ in 0..<n {
            blackHole(key.publicKey.isValidSignature(signature, for: message))
            blackHole(otherKey.publicKey.isValidSignature(otherSignature, for: otherMessage))
        }
        endMeasuring(benchmark)
    }

    Benchmark("Gatekeeper: raw libsodium sign (baseline)", configuration: raw) { benchmark in
        let n = batchSize(benchmark)
        beginMeasuring(benchmark)
        for _ in 0..<n { blackHole(key.signature(for: message)) }
        endMeasuring(benchmark)
    }

    // End to end, one request at a time.
    let gate = configuration()

    Benchmark(
        "Gatekeeper: authorize, fresh 1-block token + proof (chain verified)",
        configuration: gate,
        closure: { benchmark in
            let deployment = current.deployment
            let requests = deployment.freshRequests(batchSize(benchmark), delegated: false)
            beginMeasuring(benchmark)
            let refused = await deployment.authorizeAll(requests)
            endMeasuring(benchmark)
            precondition(refused == 0, "\(refused) requests were not allowed")
        },
        setup: setUp,
        teardown: tearDown
    )

    Benchmark(
        "Gatekeeper: authorize, re-used 1-block token + fresh proof (chain cached)",
        configuration: gate,
        closure: { benchmark in
            let deployment = current.deployment
            let requests = await deployment.reusedRequests(batchSize(benchmark), delegated: false)
            beginMeasuring(benchmark)
            let refused = await deployment.authorizeAll(requests)
            endMeasuring(benchmark)
            precondition(refused == 0, "\(refused) requests were not allowed")
        },
        setup: setUp,
        teardown: tearDown
    )

    Benchmark(
        "Gatekeeper: authorize, fresh 2-block delegated token + proof (chain verified)",
        configuration: gate,
        closure: { benchmark in
            let deployment = current.deployment
            let requests = deployment.freshRequests(batchSize(benchmark), delegated: true)
            beginMeasuring(benchmark)
            let refused = await deployment.authorizeAll(requests)
            endMeasuring(benchmark)
            precondition(refused == 0, "\(refused) requests were not allowed")
        },
        setup: setUp,
        teardown: tearDown
    )

    Benchmark(
        "Gatekeeper: authorize, re-used 2-block delegated token + fresh proof (chain cached)",
        configuration: gate,
        closure: { benchmark in
            let deployment = current.deployment
            let requests = await deployment.reusedRequests(batchSize(benchmark), delegated: true)
            beginMeasuring(benchmark)
            let refused = await deployment.authorizeAll(requests)
            endMeasuring(benchmark)
            precondition(refused == 0, "\(refused) requests were not allowed")
        },
        setup: setUp,
        teardown: tearDown
    )

    // Throughput with 1 and 2 workers is measured by the harness (HarnessWorkloads.swift, workload "scaling"), not
    // here: the benchmark runner waits for an async benchmark by blocking a thread of Swift's cooperative pool, which
    // on a 2-core machine leaves one thread for the benchmark's tasks, so two workers cannot run in parallel.

    // The authority: minting a step's token (entitlement check, mint, audit) with an in-memory audit log and
    // revocation store. Each task gets ten steps, opened before the measured region.
    Benchmark(
        "Authority: issue(task:step:), mint through the authority",
        configuration: gate,
        closure: { benchmark in
            let deployment = current.deployment
            let authority = deployment.authority
            let work = try! await deployment.stepsToIssue(batchSize(benchmark))
            var failed = 0
            beginMeasuring(benchmark)
            for (task, grant) in work {
                do { blackHole(try await authority.issue(task: task, step: grant)) } catch { failed += 1 }
            }
            endMeasuring(benchmark)
            precondition(failed == 0, "\(failed) issues failed")
        },
        setup: setUp,
        teardown: tearDown
    )

    // Revocation to deny, in process: the authority revokes a live, cached token's block (signing the entry and a
    // head over it, so no separate publishHead is needed); the service's follower syncs once (verifying both); the
    // next request with that token is denied as revoked. One revocation per iteration.
    Benchmark(
        "Authority: revocation to deny (revoke, follower sync, authorize denied)",
        configuration: configuration(scaling: .one, seconds: 4, iterations: 2000),
        closure: { benchmark in
            let deployment = current.deployment
            let issued = try! await deployment.authority.issue(
                task: deployment.taskID,
                step: StepGrant(
                    name: "step-\(stepCounter.add(1, ordering: .relaxed).newValue)",
                    audience: Deployment.audience,
                    actions: ["read"],
                    resources: ["repo/writ/*"]
                )
            )
            let text = issued.token.text
            let warm = await deployment.gatekeeper.authorize(
                deployment.request(issued.token, holder: deployment.supervisorKey, text: text, file: 0)
            )
            precondition(warm.isAllowed, "warm-up request was not allowed: \(warm)")
            let next = deployment.request(issued.token, holder: deployment.supervisorKey, text: text, file: 1)
            beginMeasuring(benchmark)
            try! await deployment.authority.revoke(block: issued.revocationID)
            try! await deployment.follower.syncOnce()
            let decision = await deployment.gatekeeper.authorize(next)
            endMeasuring(benchmark)
            guard case .deny(let denial) = decision, denial.code == .revoked else {
                preconditionFailure("expected a revoked denial, got \(decision)")
            }
        },
        setup: setUp,
        teardown: tearDown
    )
}
