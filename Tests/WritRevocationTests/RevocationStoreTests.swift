import Testing
import WritCrypto
import WritRevocation
import WritTesting

@Suite("In-memory revocation store")
struct RevocationStoreTests {
    @Test("keeps the shared store contract", arguments: RevocationStoreConformance.Check.allCases)
    func conformance(_ check: RevocationStoreConformance.Check) async throws {
        try await RevocationStoreConformance { InMemoryRevocationStore() }.run(check)
    }

    @Test("the conformance suite catches a store that breaks the contract")
    func conformanceCanFail() async throws {
        let suite = RevocationStoreConformance { ForgetfulStore() }
        await #expect(throws: RevocationStoreConformance.Failure.self) {
            try await suite.run(.proofNeedsEveryVerifier)
        }
        await #expect(throws: RevocationStoreConformance.Failure.self) {
            try await suite.run(.watermarksKeepLatestReport)
        }
    }

    @Test("reasons have stable text forms")
    func reasonText() {
        #expect(
            RevocationReason.allCases.map(\.rawValue) == [
                "completed", "timeout", "anomaly", "handed-off", "manual", "key-compromised", "superseded",
            ]
        )
    }

    @Test("targets round-trip through their stored kind and value")
    func targetText() throws {
        let targets: [RevocationTarget] = [
            .block(RevocationID(high: 0x0102_0304_0506_0708, low: 0x090A_0B0C_0D0E_0F10)),
            .task("t-1"), .agent("spiffe://example.org/agent/a/1"),
            .issuerKey(try KeyID(bytes: [9, 8, 7, 6, 5, 4, 3, 2])),
        ]
        for target in targets {
            #expect(try RevocationTarget(kind: target.kind, value: target.value) == target)
        }
        #expect(targets[0].description == "block:0102030405060708090a0b0c0d0e0f10")
        #expect(targets[3].description == "issuer-key:0908070605040302")
    }

    @Test(
        "malformed stored targets are rejected",
        arguments: [
            (RevocationTarget.Kind.block, "0102"), (.block, "zz02030405060708090a0b0c0d0e0f10"), (.issuerKey, ""),
            (.issuerKey, "0908070605040302ff"), (.task, ""), (.agent, String(repeating: "x", count: 1025)),
        ]
    )
    func malformedTargets(kind: RevocationTarget.Kind, value: String) {
        #expect {
            try RevocationTarget(kind: kind, value: value)
        } throws: { ($0 as? RevocationError)?.code == .invalidTarget }
    }
}

/// A deliberately broken store: it forgets watermarks, so proofs and watermark checks must fail.
private final class ForgetfulStore: RevocationStore {
    let inner = InMemoryRevocationStore()

    func revoke(
        _ target: RevocationTarget,
        reason: RevocationReason,
        at time: Timestamp,
        coversUntil: Timestamp
    ) async throws -> RevocationEntry {
        try await inner.revoke(target, reason: reason, at: time, coversUntil: coversUntil)
    }
    func entries(after sequence: UInt64, limit: Int) async throws -> [RevocationEntry] {
        try await inner.entries(after: sequence, limit: limit)
    }
    func latestSequence() async throws -> UInt64 { try await inner.latestSequence() }
    func recordWatermark(verifier: String, sequence: UInt64, at time: Timestamp) async throws {
        try await inner.recordWatermark(verifier: verifier, sequence: .max, at: time)
    }
    func watermarks() async throws -> [VerifierWatermark] { try await inner.watermarks() }
    func removeVerifier(_ verifier: String) async throws {}
    func prune(expiredBefore time: Timestamp) async throws -> Int { try await inner.prune(expiredBefore: time) }
}
