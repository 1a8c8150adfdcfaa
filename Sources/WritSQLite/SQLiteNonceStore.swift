// WritSQLite: Writ's stores on SQLite (GRDB), built only with the `SQLite` package trait.
#if SQLite
import Foundation
import Synchronization
internal import GRDB
public import WritCrypto
public import WritTokens

/// A ``NonceStore`` in a Writ SQLite database: the `nonces` table, one row per accepted proof nonce with its
/// expiry, shared by every process (replicas of one service) that opens the file.
///
/// ``insertIfAbsent(_:expiresAt:)`` is one statement in one `BEGIN IMMEDIATE` transaction — insert the nonce, or
/// replace it only if the stored one has expired by the store's clock — so of all the handles on the file exactly
/// one records a nonce, and `true` is returned only once the row is durable (`synchronous=FULL`).
///
/// **Pruning.** Expired rows are deleted a bounded batch at a time (``pruneBatchSize``), inside every
/// ``pruneInterval``-th insert's transaction, so pruning never holds the write lock for longer than one small
/// delete and never blocks inserts behind a long scan. ``pruneExpired()`` removes the rest on demand.
public final class SQLiteNonceStore: NonceStore {
    /// The database the nonces are kept in.
    public let database: SQLiteDatabase
    /// How many expired rows one pruning step deletes at most.
    public let pruneBatchSize: Int
    /// Every how many inserts (per handle) a pruning step runs.
    public let pruneInterval: Int

    private let clock: any WallClock
    private let inserts = Counter()

    /// A store over an open database, reading `clock` to tell expired nonces from unexpired ones.
    ///
    /// - Parameters:
    ///   - database: The open database.
    ///   - clock: The store's clock.
    ///   - pruneBatchSize: Expired rows one pruning step deletes at most (at least 1; default 256).
    ///   - pruneInterval: Every how many inserts a pruning step runs (at least 1; default 64).
    public init(
        database: SQLiteDatabase,
        clock: some WallClock = SystemClock(),
        pruneBatchSize: Int = 256,
        pruneInterval: Int = 64
    ) {
        self.database = database
        self.clock = clock
        self.pruneBatchSize = max(1, pruneBatchSize)
        self.pruneInterval = max(1, pruneInterval)
    }

    /// Opens (creating when missing) the database at `path` and a store over it.
    ///
    /// - Throws: ``NonceStoreError`` naming the file (code `unavailable`, `corrupt` or `full`), with the
    ///   ``SQLiteStoreError`` as its underlying error.
    public convenience init(path: String, clock: some WallClock = SystemClock()) throws(NonceStoreError) {
        do {
            self.init(database: try SQLiteDatabase.open(path: path), clock: clock)
        } catch {
            throw Self.error(error, "opening the nonce store")
        }
    }

    public func insertIfAbsent(_ nonce: ReplayNonce, expiresAt: Timestamp) async throws -> Bool {
        let now = clock.now().millisecondsSinceEpoch
        let prune = inserts.next() % pruneInterval == 0 ? pruneBatchSize : 0
        let key = Self.bytes(nonce)
        do {
            return try await database.write("recording a nonce") { db in
                try db.cachedStatement(
                    sql: """
                        INSERT INTO nonces (nonce, expires_ms) VALUES (?, ?)
                        ON CONFLICT (nonce) DO UPDATE SET expires_ms = excluded.expires_ms
                        WHERE nonces.expires_ms <= ?
                        """
                ).execute(arguments: [key, expiresAt.millisecondsSinceEpoch, now])
                let inserted = db.changesCount == 1
                if prune > 0 { try Self.prune(db, now: now, limit: prune) }
                return inserted
            }
        } catch {
            throw Self.error(error, "recording a nonce")
        }
    }

    /// Deletes every expired nonce, a batch per transaction (so inserts interleave); returns how many went.
    @discardableResult
    public func pruneExpired() async throws(NonceStoreError) -> Int {
        let now = clock.now().millisecondsSinceEpoch
        let limit = pruneBatchSize
        var removed = 0
        while true {
            let count: Int
            do {
                count = try await database.write("pruning nonces") { db in try Self.prune(db, now: now, limit: limit) }
            } catch {
                throw Self.error(error, "pruning nonces")
            }
            removed += count
            if count < limit { return removed }
        }
    }

    /// The number of nonces held (expired ones included until pruned).
    public func count() async throws(NonceStoreError) -> Int {
        do {
            return try await database.read("counting nonces") { db in
                try Int.fetchOne(db, sql: "SELECT count(*) FROM nonces") ?? 0
            }
        } catch {
            throw Self.error(error, "counting nonces")
        }
    }

    @discardableResult
    private static func prune(_ db: Database, now: Int64, limit: Int) throws -> Int {
        try db.execute(
            sql: """
                DELETE FROM nonces WHERE nonce IN
                (SELECT nonce FROM nonces WHERE expires_ms <= ? ORDER BY expires_ms LIMIT ?)
                """,
            arguments: [now, limit]
        )
        return db.changesCount
    }

    private static func bytes(_ nonce: ReplayNonce) -> Data {
        var out = Data(capacity: 16)
        for half in [nonce.high, nonce.low] {
            for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: half >> shift)) }
        }
        return out
    }

    private static func error(_ error: any Error, _ what: String) -> NonceStoreError {
        if let error = error as? NonceStoreError { return error }
        guard let sqlite = error as? SQLiteStoreError else {
            return NonceStoreError(.unavailable, what, underlying: error)
        }
        let code: NonceStoreError.Code =
            switch sqlite.code {
            case .corrupt, .notADatabase, .foreignDatabase, .newerSchema: .corrupt
            case .diskFull: .full
            default: .unavailable
            }
        return NonceStoreError(code, "\(what): \(sqlite.context)", path: sqlite.path, underlying: sqlite)
    }
}

/// A thread-safe counter.
final class Counter: Sendable {
    private let value = Mutex(0)

    func next() -> Int {
        value.withLock {
            $0 &+= 1
            return $0
        }
    }
}
#endif
