#if Postgres && canImport(Glibc)
import Foundation
import Glibc
import Testing
import WritCrypto
import WritPostgres
import WritRevocation
import WritTokens

/// A socket on a loopback port: `listening` queues connections (the kernel completes the TCP handshake) but never
/// accepts or answers them, like a hung server; `closed` is a port nothing listens on.
final class LoopbackPort: Sendable {
    let port: Int
    private let descriptor: Int32

    init(listening: Bool) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw PostgresStoreError(.unreachable, "socket() failed") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic in
                bind(fd, generic, length) == 0 && (!listening || listen(fd, 64) == 0)
                    && getsockname(fd, generic, &length) == 0
            }
        }
        guard bound else {
            close(fd)
            throw PostgresStoreError(.unreachable, "binding a loopback port failed")
        }
        port = Int(UInt16(bigEndian: address.sin_port))
        if listening {
            descriptor = fd
        } else {
            close(fd)  // nothing listens there now: connecting is refused
            descriptor = -1
        }
    }

    deinit { if descriptor >= 0 { close(descriptor) } }
}

@Suite("WritPostgresService with no usable server")
struct PostgresUnreachableTests {
    @Test(
        "a closed port and a server that never answers fail fast with a typed error, for migrations and stores",
        arguments: [false, true]
    )
    func failsFast(listening: Bool) async throws {
        let socket = try LoopbackPort(listening: listening)
        var configuration = try WritPostgresConfiguration(
            url: "postgres://postgres:secret@127.0.0.1:\(socket.port)/writ_test?sslmode=disable&connect_timeout=1"
        )
        configuration.maximumConnections = 2
        let service = try WritPostgresService(configuration: configuration)
        let running = Task { try? await service.run() }
        defer { running.cancel() }
        let started = ContinuousClock.now
        let error = await #expect(throws: PostgresStoreError.self) { try await service.migrate() }
        #expect(error?.code == .unreachable, "\(String(describing: error))")
        let now = Timestamp(secondsSinceEpoch: 1_800_000_000)
        let nonceError = await #expect(throws: NonceStoreError.self) {
            _ = try await PostgresNonceStore(service: service).insertIfAbsent(.random(), expiresAt: now)
        }
        #expect(nonceError?.code == .unavailable)
        #expect(
            (nonceError?.underlying as? PostgresStoreError)?.code == .unreachable,
            "\(String(describing: nonceError))"
        )
        let revocationError = await #expect(throws: RevocationError.self) {
            _ = try await PostgresRevocationStore(service: service).page(after: 0, limit: 10)
        }
        #expect(revocationError?.code == .storeUnavailable)
        // Loose on purpose (no timing assertion): it returned, long before postgres-nio's pool would have given up
        // on its own (its circuit breaker trips after 60 s, and a connect to a silent server never ends).
        let elapsed = ContinuousClock.now - started
        #expect(elapsed < .seconds(45), "three operations took \(elapsed)")
    }
}
#endif
