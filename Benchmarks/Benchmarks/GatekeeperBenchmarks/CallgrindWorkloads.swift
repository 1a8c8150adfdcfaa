import Writ

// Workloads for instruction counts under valgrind's callgrind, beside raw libsodium.
//
// The benchmark runner cannot run under valgrind 3.19 (its async main parks the main thread in libdispatch's
// sigsuspend, and valgrind crashes), so Docs/Performance.md compiles this file and Deployment.swift with a
// six-line synchronous main against the package's release build. Each workload runs two batches of `n` and
// brackets the second with gatebenchZeroCounters() / gatebenchDumpCounters() (`--zero-before` / `--dump-before`),
// so caches and lazily initialised globals are warm and the dump holds exactly the measured batch.

/// The workloads ``callgrindWorkload(_:requests:)`` knows.
let callgrindWorkloads = [
    "verify-x1", "verify-x2", "sign", "cached-1-block", "fresh-1-block", "cached-2-block", "fresh-2-block", "issue",
]

/// Runs one workload twice and brackets the second run.
func callgrindWorkload(_ which: String, requests n: Int) async throws {
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
        default:
            preconditionFailure("unknown workload \(which); known: \(callgrindWorkloads)")
        }
    }
}
