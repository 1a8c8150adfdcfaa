#if Postgres
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing
import WritCrypto
@_spi(Testing) import WritPostgres
import WritFileSupport
import WritRevocation

/// Stops and starts a throw-away PostgreSQL cluster (never the shared one): `WRIT_POSTGRES_FAULT_URL` is its URL,
/// `WRIT_POSTGRES_FAULT_CLUSTER` its `pg_ctlcluster` version and name (e.g. `15 writfault`); needs root.
enum FaultCluster {
    static let url = ProcessInfo.processInfo.environment["WRIT_POSTGRES_FAULT_URL"]
    static let cluster = ProcessInfo.processInfo.environment["WRIT_POSTGRES_FAULT_CLUSTER"]
    static var enabled: Bool { url != nil && cluster != nil }

    /// Runs `pg_ctlcluster <cluster> <action>` and waits for it.
    ///
    /// Not `system(3)`: that forks this test process with every descriptor it holds, and `start` leaves a server
    /// daemon running with copies of them — other tests' pipes (whose readers then never see their end) and the
    /// output CI reads (which then never ends). The child here gets /dev/null for 0–2 and every other descriptor
    /// closed in the child itself (`closefrom` at spawn), so one opened by another thread meanwhile is closed too.
    static func control(_ action: String) throws {
        let arguments =
            ["pg_ctlcluster"] + (cluster ?? "").split(separator: " ").map(String.init) + [action]
            + (action == "stop" ? ["-m", "immediate"] : [])
        let status = try spawnAlone(arguments)
        #expect(status == 0, "\(arguments.joined(separator: " ")) failed: \(status)")
    }

    /// Spawns `arguments` (looked up in `PATH`) with stdio on /dev/null and no other inherited descriptor; its
    /// exit status.
    static func spawnAlone(_ arguments: [String]) throws -> Int32 {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        guard POSIXFile.addCloseFromThree(&actions) else { throw POSIXError(.ENOSYS) }
        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let result = posix_spawnp(&pid, arguments[0], &actions, nil, argv, environ)
        guard result == 0 else { throw POSIXError(POSIXErrorCode(rawValue: result) ?? .EINVAL) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0, errno == EINTR {}
        return status
    }

    /// The pipes and sockets this process holds that the cluster's server process holds too (by inode).
    static func descriptorsSharedWithServer() throws -> Set<String> {
        let dataDirectory = "/var/lib/postgresql/" + (cluster ?? "").replacingOccurrences(of: " ", with: "/")
        let pidLine =
            try String(contentsOfFile: dataDirectory + "/postmaster.pid", encoding: .utf8)
            .split(separator: "\n").first.map(String.init) ?? ""
        func targets(_ directory: String) -> Set<String> {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
            return Set(
                names.compactMap { try? FileManager.default.destinationOfSymbolicLink(atPath: directory + "/" + $0) }
                    .filter { $0.hasPrefix("pipe:") || $0.hasPrefix("socket:") }
            )
        }
        return targets("/proc/self/fd").intersection(targets("/proc/\(pidLine)/fd"))
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
        // 3 s: writes during the outage below fail within it.
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
        // The 3 s bound is for the outage below; the first connection may take longer under a loaded run.
        try await PostgresFixture.retryingUnreachable { try await service.migrate() }
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
        let shared = try FaultCluster.descriptorsSharedWithServer()
        #expect(shared.isEmpty, "the restarted server holds this process's descriptors: \(shared.sorted())")
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
