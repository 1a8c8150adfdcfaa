#if Postgres
import Foundation
internal import PostgresNIO
import Synchronization
public import WritCrypto
public import WritTokens

/// A ``NonceStore`` in PostgreSQL: every replica of a service (every gatekeeper of one audience) shares it, so a
/// proof accepted by one replica is a replay at every other.
///
/// One statement decides: `INSERT … ON CONFLICT (nonce) DO UPDATE … WHERE expires_at <= now RETURNING` inserts a
/// new nonce, re-records an expired one, and returns no row for an unexpired one (a replay). Two replicas offering
/// one nonce at once serialise on its key: exactly one is told it is new. Every ``pruneEvery`` insertions the store
/// deletes expired rows (also ``prune()``). Time comes from the store's clock, as the protocol requires.
public final class PostgresNonceStore: NonceStore {
    /// The service whose pool and schema this store uses.
    public let service: WritPostgresService
    /// How many insertions between two prunings of expired rows.
    public let pruneEvery: Int
    private let clock: any WallClock
    private let inserts = Mutex(0)

    /// A store on `service`'s schema (run ``WritPostgresService/migrate()`` once first).
    ///
    /// - Parameters:
    ///   - service: the pool and schema.
    ///   - clock: the clock deciding expiry.
    ///   - pruneEvery: insertions between prunings (at least 1).
    public init(service: WritPostgresService, clock: some WallClock = SystemClock(), pruneEvery: Int = 1024) {
        self.service = service
        self.clock = clock
        self.pruneEvery = max(1, pruneEvery)
    }

    public func insertIfAbsent(_ nonce: ReplayNonce, expiresAt: Timestamp) async throws -> Bool {
        let now = clock.now().millisecondsSinceEpoch
        let table = service.table("nonces")
        let inserted: Bool
        do {
            let rows = try await service.query(
                "INSERT INTO \(unescaped: table) AS n (nonce, expires_at) VALUES (\(Data(nonce.bytes)), \(expiresAt.millisecondsSinceEpoch)) ON CONFLICT (nonce) DO UPDATE SET expires_at = EXCLUDED.expires_at WHERE n.expires_at <= \(now) RETURNING 1"
            )
            inserted = !rows.isEmpty
        } catch {
            let cause = PostgresStoreError.classify(error, doing: "recording a nonce")
            throw NonceStoreError(.unavailable, cause.description, underlying: cause)
        }
        let due = inserts.withLock { count in
            count += 1
            return count % pruneEvery == 0
        }
        if due { _ = try? await prune() }
        return inserted
    }

    /// Deletes every expired nonce; returns how many.
    ///
    /// - Throws: ``NonceStoreError`` with code `unavailable`.
    @discardableResult
    public func prune() async throws -> Int {
        do {
            let rows = try await service.query(
                "WITH gone AS (DELETE FROM \(unescaped: service.table("nonces")) WHERE expires_at <= \(clock.now().millisecondsSinceEpoch) RETURNING 1) SELECT count(*) FROM gone"
            )
            return Int(try rows.first?.decode(Int64.self) ?? 0)
        } catch {
            let cause = PostgresStoreError.classify(error, doing: "pruning nonces")
            throw NonceStoreError(.unavailable, cause.description, underlying: cause)
        }
    }
}
#endif
