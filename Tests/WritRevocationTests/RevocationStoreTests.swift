import Synchronization
import Testing
import WritCrypto
@_spi(Testing) import WritRevocation
import WritTesting

/// The suite over the in-memory store (the reference implementation).
let inMemoryConformance = RevocationStoreConformance(
    makeStore: { InMemoryRevocationStore() },
    overwrite: { store, contents in try #require(store as? InMemoryRevocationStore).overwrite(with: contents) },
    reopen: { $0 },
    openPeer: { $0 }
)

@Suite("In-memory revocation store")
struct RevocationStoreTests {
    @Test("keeps the shared store contract", arguments: RevocationStoreConformance.Check.allCases)
    func conformance(_ check: RevocationStoreConformance.Check) async throws {
        try await inMemoryConformance.run(check)
    }

    @Test("the conformance suite catches a store that breaks the contract")
    func conformanceCanFail() async throws {
        let suite = RevocationStoreConformance(
            makeStore: { CarelessStore() },
            overwrite: { store, contents in try #require(store as? CarelessStore).inner.overwrite(with: contents) },
            reopen: { $0 },
            openPeer: { $0 }
        )
        for check in [RevocationStoreConformance.Check.pagesInOrderWithHead, .revokeIsIdempotent] {
            await #expect(throws: RevocationStoreConformance.Failure.self) { try await suite.run(check) }
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

/// A deliberately broken store: it serves no head and appends retries again instead of returning them.
private final class CarelessStore: RevocationStore {
    let inner = InMemoryRevocationStore()
    let calls = Mutex<Int64>(0)

    func append(
        _ revocations: [RevocationRequest],
        signer: some Signer,
        minimum: RevocationFeedTip?
    ) async throws -> [SignedRevocationEntry] {
        // Never recognises a retry: each call covers another hour longer than asked.
        let hours = calls.withLock { count in
            count += 1
            return count
        }
        let widened = revocations.map { request in
            var request = request
            request.coversUntil = request.coversUntil.advanced(by: .seconds(3600 * hours))
            return request
        }
        return try await inner.append(widened, signer: signer, minimum: minimum)
    }
    func publishHead(
        at time: Timestamp,
        signer: some Signer,
        minimum: RevocationFeedTip?
    ) async throws
        -> SignedFeedMark
    {
        try SignedFeedMark(signing: .head, sequence: 0, hash: .zero, issuedAt: time, signer: signer)
    }
    func page(after sequence: UInt64, limit: Int) async throws -> RevocationFeedPage {
        var page = try await inner.page(after: sequence, limit: limit)
        page.head = nil
        return page
    }
    func prune(expiredBefore time: Timestamp, at now: Timestamp, signer: some Signer) async throws -> Int {
        try await inner.prune(expiredBefore: time, at: now, signer: signer)
    }
}
