#if Postgres
import Foundation
import PostgresNIO
import Testing
import WritCrypto
@_spi(Testing) import WritPostgres
import WritRevocation
import WritTesting

/// Writes exactly `contents` into the feed tables with raw SQL, as an attacker with write access could: no
/// checks, no signatures; the counter row is set to match, as a thorough attacker would.
func overwriteFeed(_ fixture: PostgresFixture, with contents: RevocationFeedPage) async throws {
    let s = "\"\(fixture.schema)\""
    try await fixture.raw.withTransaction(logger: Logger(label: "test")) { connection in
        try await connection.query("DELETE FROM \(unescaped: s).feed_entries", logger: Logger(label: "test"))
        try await connection.query("DELETE FROM \(unescaped: s).feed_marks", logger: Logger(label: "test"))
        for entry in contents.entries {
            try await connection.query(
                "INSERT INTO \(unescaped: s).feed_entries VALUES (\(Int64(entry.sequence)), \(entry.entry.target.description), \(entry.entry.coversUntil.millisecondsSinceEpoch), \(Data(entry.bytes)))",
                logger: Logger(label: "test")
            )
        }
        for (kind, mark) in [("head", contents.head), ("floor", contents.floor)] {
            guard let mark else { continue }
            try await connection.query(
                "INSERT INTO \(unescaped: s).feed_marks VALUES (\(kind), \(Data(mark.bytes)))",
                logger: Logger(label: "test")
            )
        }
        let last = contents.entries.last?.sequence ?? contents.floor?.sequence ?? 0
        try await connection.query(
            "UPDATE \(unescaped: s).feed_counter SET last_sequence = \(Int64(last)), writes = writes + 1",
            logger: Logger(label: "test")
        )
    }
}

@Suite(
    "PostgresRevocationStore",
    .serialized,
    .enabled(if: PostgresTestEnvironment.enabled, PostgresTestEnvironment.skipNote)
)
struct PostgresRevocationStoreTests {
    @Test(
        "keeps the store contract (shared conformance suite, each check in a fresh schema)",
        arguments: RevocationStoreConformance.Check.allCases
    )
    func conformance(_ check: RevocationStoreConformance.Check) async throws {
        try await PostgresFixture.with { fixture, service in
            try await RevocationStoreConformance(
                makeStore: { PostgresRevocationStore(service: service) },
                overwrite: { _, contents in try await overwriteFeed(fixture, with: contents) },
                reopen: { _ in PostgresRevocationStore(service: try await fixture.service()) },
                openPeer: { _ in PostgresRevocationStore(service: try await fixture.service()) }
            ).run(check)
        }
    }

    @Test("announcements come from other processes' writes through LISTEN/NOTIFY")
    func announcementsFromPeers() async throws {
        try await PostgresFixture.with(pollInterval: .seconds(30)) { fixture, service in
            let listener = PostgresRevocationStore(service: service)
            let writer = PostgresRevocationStore(service: try await fixture.service())
            #expect(await eventually { service.isListening })
            let stream = try #require(listener.announcements())
            let key = Ed25519.PrivateKey()
            let request = RevocationRequest(
                .task("t"),
                reason: .manual,
                at: Timestamp(secondsSinceEpoch: 1_800_000_000),
                coversUntil: Timestamp(secondsSinceEpoch: 1_800_000_600)
            )
            // The listener's poll interval is 30 s: only NOTIFY can deliver this in time.
            let seen = Task {
                for await sequence in stream where sequence >= 1 { return sequence }
                return 0
            }
            _ = try await writer.append([request], signer: key, minimum: nil)
            let sequence = await seen.value
            #expect(sequence == 1)
        }
    }

    @Test("a dropped LISTEN connection falls back to polling, still delivers, and reconnects")
    func listenFallsBackToPolling() async throws {
        try await PostgresFixture.with(pollInterval: .milliseconds(100)) { fixture, service in
            let listener = PostgresRevocationStore(service: service)
            let writer = PostgresRevocationStore(service: try await fixture.service())
            #expect(await eventually { service.isListening })
            let stream = try #require(listener.announcements())
            let pid = try #require(service.listenerBackendPID)
            let before = service.listenConnections
            // A partition: the server ends the LISTEN connection.
            try await fixture.sql("SELECT pg_terminate_backend(\(pid))")
            #expect(await eventually { !service.isListening || service.listenConnections > before })
            let key = Ed25519.PrivateKey()
            let request = RevocationRequest(
                .task("after-partition"),
                reason: .manual,
                at: Timestamp(secondsSinceEpoch: 1_800_000_000),
                coversUntil: Timestamp(secondsSinceEpoch: 1_800_000_600)
            )
            let seen = Task {
                for await sequence in stream where sequence >= 1 { return sequence }
                return 0
            }
            _ = try await writer.append([request], signer: key, minimum: nil)
            #expect(await seen.value == 1, "polling (or the re-established LISTEN) must deliver the write")
            #expect(await eventually { service.isListening && service.listenConnections > before }, "LISTEN reconnects")
        }
    }

    @Test("a follower of another process denies a revocation pushed by LISTEN/NOTIFY")
    func followerRunsOnNotify() async throws {
        try await PostgresFixture.with(pollInterval: .seconds(30)) { fixture, service in
            let key = Ed25519.PrivateKey()
            let authorityService = try await fixture.service()
            let publisher = RevocationPublisher(
                store: PostgresRevocationStore(service: authorityService),
                signer: key,
                clock: SystemClock()
            )
            _ = try await publisher.publishHead()
            let follower = try RevocationFeedFollower(
                verifier: "svc",
                store: PostgresRevocationStore(service: service),
                trustedKeys: [key.publicKey],
                snapshot: RevocationSnapshot(maxStaleness: .seconds(60)),
                clock: SystemClock(),
                configuration: .init(pollInterval: .seconds(30))
            )
            _ = try await follower.syncOnce()
            #expect(await eventually { service.isListening })
            let running = Task { await follower.run() }
            defer { running.cancel() }
            let id = RevocationID(high: 42, low: 42)
            _ = try await publisher.revoke(
                .block(id),
                reason: .anomaly,
                coversUntil: SystemClock().now().advanced(by: .seconds(600))
            )
            #expect(
                await eventually { follower.snapshot.contains(block: id) },
                "NOTIFY wakes the follower long before its 30 s poll"
            )
        }
    }

    @Test("the watermark store keeps the latest signed report per verifier, as bytes")
    func watermarks() async throws {
        try await PostgresFixture.with { fixture, service in
            let store = PostgresWatermarkStore(service: service)
            let key = Ed25519.PrivateKey()
            func report(_ verifier: String, _ sequence: UInt64, at seconds: Int64) throws -> WatermarkReport {
                try WatermarkReport(
                    verifier: verifier,
                    sequence: sequence,
                    hash: .zero,
                    recordedAt: Timestamp(secondsSinceEpoch: 1_800_000_000 + seconds),
                    signer: key
                )
            }
            try await store.record(try report("b", 0, at: 0))
            try await store.record(try report("a", 0, at: 10))
            try await store.record(try report("a", 0, at: 5))  // older: ignored
            let peer = PostgresWatermarkStore(service: try await fixture.service())
            var reports = try await peer.reports()
            #expect(reports.map(\.verifier) == ["a", "b"])
            #expect(reports.first?.recordedAt == Timestamp(secondsSinceEpoch: 1_800_000_010))
            #expect(reports.allSatisfy { $0.isSigned(by: key.publicKey) })
            try await peer.removeVerifier("b")
            reports = try await store.reports()
            #expect(reports.map(\.verifier) == ["a"])
            // Tamper: a row that is not a report is an error naming it, never skipped.
            try await fixture.sql(
                "UPDATE \(unescaped: "\"\(fixture.schema)\"").feed_watermarks SET record = \(Data([1, 2, 3]))"
            )
            await #expect(throws: RevocationError(.malformed, "")) { _ = try await store.reports() }
        }
    }

    @Test("tamper: a counter row ahead of the entries (rows deleted) refuses every write")
    func counterAheadOfEntries() async throws {
        try await PostgresFixture.with { fixture, service in
            let store = PostgresRevocationStore(service: service)
            let key = Ed25519.PrivateKey()
            let now = Timestamp(secondsSinceEpoch: 1_800_000_000)
            for i in 1...3 {
                _ = try await store.append(
                    [
                        RevocationRequest(
                            .task("t\(i)"),
                            reason: .manual,
                            at: now,
                            coversUntil: now.advanced(by: .seconds(60))
                        )
                    ],
                    signer: key,
                    minimum: nil
                )
            }
            try await fixture.sql("DELETE FROM \(unescaped: "\"\(fixture.schema)\"").feed_entries WHERE sequence = 3")
            let error = await #expect(throws: RevocationError.self) {
                _ = try await store.append(
                    [RevocationRequest(.task("t4"), reason: .manual, at: now, coversUntil: now)],
                    signer: key,
                    minimum: nil
                )
            }
            #expect(error?.code == .tampered)
            #expect(try await store.contents().entries.map(\.sequence) == [1, 2], "nothing written")
        }
    }
}
#endif
