import Benchmark
import Writ

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .throughput],
        maxDuration: .seconds(3)
    )

    // Baseline so every figure can be read as a ratio to raw libsodium measured in the same run.
    let key = Ed25519.PrivateKey()
    let message = [UInt8](repeating: 7, count: 200)
    let signature = key.signature(for: message)
    Benchmark("Policy: baseline raw libsodium Ed25519 verify") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(key.publicKey.isValidSignature(signature, for: message)) }
    }

    for count in [10, 100, 1_000, 10_000] {
        // Force-try is safe: the workload is generated, fixed and valid (the unit tests parse it too).
        let policies = try! PolicySet(text: PolicyWorkload.policyText(count: count))
        let entities = try! PolicyWorkload.entities(count: count)
        let agentRequests = PolicyWorkload.requests(count: count)
        // Pre-built Cedar requests and per-request stores: the pure evaluation cost.
        let prepared = agentRequests.map { ($0.cedarRequest, entities.overlaying([$0.agentEntity])) }
        let expected = agentRequests.map { policies.evaluate($0, entities: entities).agentDecision }
        precondition(expected.count == 4 && expected[0] == .allow && expected[1] == .allow)
        precondition(expected[3] == .deny(reasons: ["policy1"]))
        if case .reauthorize = expected[2] {} else { preconditionFailure("workload request 2 should hit a checkpoint") }

        Benchmark("Policy: evaluate, \(count) policies") { benchmark in
            var i = 0
            for _ in benchmark.scaledIterations {
                let (request, store) = prepared[i & 3]
                blackHole(policies.evaluate(request, entities: store))
                i &+= 1
            }
        }
        Benchmark("Policy: agent request (context + overlay + evaluate), \(count) policies") { benchmark in
            var i = 0
            for _ in benchmark.scaledIterations {
                blackHole(policies.evaluate(agentRequests[i & 3], entities: entities))
                i &+= 1
            }
        }
    }

    let text1000 = PolicyWorkload.policyText(count: 1_000)
    Benchmark("Policy: parse and index 1,000 policies", configuration: .init(maxDuration: .seconds(3))) { benchmark in
        for _ in benchmark.scaledIterations { blackHole(try? PolicySet(text: text1000)) }
    }
}
