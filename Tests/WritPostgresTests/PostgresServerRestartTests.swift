#if Postgres
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing
import WritCrypto
@_spi(Testing) import WritPostgres
import WritRevocation

/// Stops and starts a throw-away PostgreSQL cluster (never the shared one): `WRIT_POSTGRES_FAULT_URL` is its URL,
/// `WRIT_POSTGRES_FAULT_CLUSTER` its `pg_ctlcluster` version and name (e.g. `15 writfault`); needs root.
enum FaultCluster {
    static let url = ProcessInfo.processInfo.environment["WRIT_POSTGRES_FAULT_URL"]
    static let cluster = ProcessInfo.processInfo.environment["WRIT_POSTGRES_FAULT_CLUSTER"]
    static var enabled: Bool { url != nil && cluster != nil }

    static func control(_ action: String) throws {
        let command =
            "pg_ctlcluster \(cluster ?? "") \(action)\(action == "stop" ? " -m immediate" : "") </dev/null >/dev/null 2>&1"
        let status = system(command)
        #expect(status == 0, "\(command) failed: \(status)")
    }
}

@Suite(
    "PostgreSQL server killed and restarted",
    .serialized,
    .enabled(
        if: FaultCluster.enabled,
        "set WRIT_POSTGRES_FAULT_URL and WRIT_POSTGRES_FAULT_CLUSTER (a throw-away cluster)"
    )
)
struct PostgresServerRestartTests {
    @Test("verifiers go stale and fail closed while the server is down, authority writes fail typed, then all recover")
    func killAndRestart() async throws {
        let url = try #require(FaultCluster.url)
        var configuration = try WritPostgresConfiguration(url: url, schema: PostgresFixture.schemaName())
        // 3 s, as the fixture: under a loaded full-suite run a first pooled connection can take longer than 1 s.
        configuration.connectTimeout = .seconds(3)
        configuration.maximumConnections = 3
        let service = try WritPostgresService(
            configuration: configuration,
            pollInterval: .milliseconds(100),
            initialBackoff: .milliseconds(50),
            maximumBackoff: .milliseconds(300)
        )
        let running = Task { try? await service.run() }
        defer { running.cancel() }
        try await service.migrate()
        let key = Ed25519.PrivateKey()
        let publisher = RevocationPublisher(
            store: PostgresRevocationStore(service: service),
            signer: key,
            clock: SystemClock()
        )
        let staleness = Duration.seconds(2)
        let snapshot = RevocationSnapshot(maxStaleness: staleness)
        let follower = try RevocationFeedFollower(
            verifier: "svc",
            store: PostgresRevocationStore(service: service),
            trustedKeys: [key.publicKey],
            snapshot: snapshot,
            clock: SystemClock(),
            configuration: .init(pollInterval: .milliseconds(100))
        )
        let heads = Task {
            while !Task.isCancelled {
                _ = try? await publisher.publishHead()
                try? await Task.sleep(for: .milliseconds(250))
            }
        }
        defer { heads.cancel() }
        let following = Task { await follower.run() }
        defer { following.cancel() }
        let far = SystemClock().now().advanced(by: .seconds(3600))
        let first = RevocationID(high: 1, low: 1)
        _ = try await publisher.revoke(.block(first), reason: .manual, coversUntil: far)
        #expect(await eventually { snapshot.contains(block: first) })
        let probe = RevocationID(high: 9, low: 9)
        #expect(await eventually { snapshot.status(of: probe, now: SystemClock().now()) == .notRevoked })

        try FaultCluster.control("stop")
        let down = ContinuousClock.now
        let error = await #expect(throws: RevocationError.self) {
            _ = try await publisher.revoke(.block(RevocationID(high: 2, low: 2)), reason: .manual, coversUntil: far)
        }
        #expect(error?.code == .storeUnavailable, "\(String(describing: error))")
        let failedAfter = ContinuousClock.now - down
        #expect(failedAfter < .seconds(30), "the write failed after \(failedAfter)")
        // Within the staleness bound (plus the follower's poll) the verifier fails closed.
        #expect(
            await eventually(timeout: staleness + .seconds(5)) {
                snapshot.status(of: probe, now: SystemClock().now()) != .notRevoked
            },
            "the verifier must go stale with the server down"
        )
        #expect(snapshot.contains(block: first), "it keeps what it applied")

        try FaultCluster.control("start")
        let second = RevocationID(high: 3, low: 3)
        #expect(
            await eventually(timeout: .seconds(30)) {
                do {
                    _ = try await publisher.revoke(.block(second), reason: .manual, coversUntil: far)
                    return true
                } catch {
                    print("fault: revoke after restart: \(error)")
                    return false
                }
            },
            "writes succeed again after the restart"
        )
        #expect(
            await eventually(timeout: .seconds(10)) { snapshot.contains(block: second) },
            "the follower catches up (last error \(String(describing: follower.lastError)), failure \(String(describing: follower.failure)))"
        )
        #expect(
            await eventually(timeout: .seconds(10)) {
                snapshot.status(of: probe, now: SystemClock().now()) == .notRevoked
            },
            "and is fresh again"
        )
        #expect(await eventually(timeout: .seconds(10)) { service.isListening }, "LISTEN reconnects")
        var sequences: [UInt64] = []
        #expect(
            await eventually(timeout: .seconds(10)) {
                guard let entries = try? await PostgresRevocationStore(service: service).contents().entries else {
                    return false  // the pool may still be busy reconnecting on a loaded machine
                }
                sequences = entries.map(\.sequence)
                return true
            }
        )
        #expect(sequences == [1, 2], "the failed write left nothing behind: \(sequences)")
    }
}
#endif
