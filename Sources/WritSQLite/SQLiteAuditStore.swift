// WritSQLite: Writ's stores on SQLite (GRDB), built only with the `SQLite` package trait.
#if SQLite
import Foundation
internal import GRDB
public import WritAudit
import WritCrypto

/// An ``AuditStore`` in a Writ SQLite database: an append-only table of entries keyed by (log, index), and per log
/// one row with its size, the latest batch's signed checkpoint and the tree's frontier.
///
/// ``append(_:firstIndex:checkpoint:frontier:)`` writes the batch's entries and replaces the log's row in one
/// `BEGIN IMMEDIATE` transaction, after checking that `firstIndex` is the stored size: so a batch, its checkpoint
/// and its frontier become durable together (`synchronous=FULL`, one commit per batch), and a second handle or
/// process appending behind the first's back gets `conflict` and interleaves nothing. ``count()``,
/// ``latestCheckpoint()`` and ``latestFrontier()`` read the one row, so a log reopens in O(log n).
///
/// One file may hold several logs (``log``). The store interprets no entry: the ``AuditVerifier`` checks them
/// against the checkpoints, so rows altered behind the store's back are found there, and rows missing below the
/// stored size fail reads with `tampered` naming the index.
public final class SQLiteAuditStore: AuditStore {
    /// The database the log is kept in.
    public let database: SQLiteDatabase
    /// The log's name within the file.
    public let log: String

    /// A store over an open database, for the log named `log`.
    public init(database: SQLiteDatabase, log: String = "audit") {
        self.database = database
        self.log = log
    }

    /// Opens (creating when missing) the database at `path` and a store over its log named `log`.
    ///
    /// - Throws: ``SQLiteStoreError`` naming the file when it cannot be opened as a Writ database.
    public convenience init(path: String, log: String = "audit") throws(SQLiteStoreError) {
        self.init(database: try SQLiteDatabase.open(path: path), log: log)
    }

    private struct Head: Sendable {
        var size: UInt64
        var checkpoint: SignedCheckpoint
        var frontier: AuditFrontier
    }

    public func count() async throws -> UInt64 {
        let (log, path) = (self.log, database.path)
        return try await run("reading the log's size") { db in try Self.head(db, log: log, path: path)?.size ?? 0 }
    }

    public func append(
        _ entries: [[UInt8]],
        firstIndex: UInt64,
        checkpoint: SignedCheckpoint,
        frontier: AuditFrontier
    ) async throws {
        guard !entries.isEmpty else { return }
        let end = firstIndex.addingReportingOverflow(UInt64(entries.count))
        guard !end.overflow, end.partialValue <= UInt64(Int64.max) else {
            throw AuditError(.conflict, "a batch at \(firstIndex) of \(entries.count) entries overflows the index")
        }
        try checkpoint.checkStored(size: end.partialValue, frontier: frontier)
        let (log, path) = (self.log, database.path)
        let text = checkpoint.text
        let frontierBytes = Data(frontier.rawRepresentation)
        let rows = entries.map { Data($0) }
        try await run("appending \(entries.count) entries at \(firstIndex)", write: true) { db in
            let size = try Self.head(db, log: log, path: path)?.size ?? 0
            guard size == firstIndex else {
                throw AuditError(.conflict, "append at \(firstIndex) but '\(path)' log '\(log)' holds \(size) entries")
            }
            let statement = try db.cachedStatement(sql: "INSERT INTO audit_entries (log, idx, entry) VALUES (?, ?, ?)")
            for (offset, entry) in rows.enumerated() {
                try statement.execute(arguments: [log, Int64(firstIndex) + Int64(offset), entry])
            }
            try db.cachedStatement(
                sql: """
                    INSERT INTO audit_logs (log, size, checkpoint, frontier) VALUES (?, ?, ?, ?)
                    ON CONFLICT (log) DO UPDATE SET size = excluded.size, checkpoint = excluded.checkpoint,
                    frontier = excluded.frontier
                    """
            ).execute(arguments: [log, Int64(end.partialValue), text, frontierBytes])
        }
    }

    public func read(_ range: Range<UInt64>) async throws -> [[UInt8]] {
        let (log, path) = (self.log, database.path)
        return try await run("reading entries \(range)") { db in
            let size = try Self.head(db, log: log, path: path)?.size ?? 0
            guard range.upperBound <= size else {
                throw AuditError(.outOfRange, "read up to \(range.upperBound) but the store holds \(size)")
            }
            guard !range.isEmpty else { return [] }
            let rows = try Row.fetchAll(
                db,
                sql: "SELECT idx, entry FROM audit_entries WHERE log = ? AND idx >= ? AND idx < ? ORDER BY idx",
                arguments: [log, Int64(range.lowerBound), Int64(range.upperBound)]
            )
            var out: [[UInt8]] = []
            out.reserveCapacity(rows.count)
            for (offset, row) in rows.enumerated() {
                let expected = range.lowerBound + UInt64(offset)
                guard row["idx"] == Int64(expected), let entry = row["entry"] as Data? else {
                    throw AuditError(.tampered, "'\(path)' log '\(log)': entry \(expected) is missing")
                }
                out.append(Array(entry))
            }
            guard UInt64(out.count) == UInt64(range.count) else {
                throw AuditError(
                    .tampered,
                    "'\(path)' log '\(log)': entry \(range.lowerBound + UInt64(out.count)) is missing"
                )
            }
            return out
        }
    }

    public func latestCheckpoint() async throws -> SignedCheckpoint? {
        let (log, path) = (self.log, database.path)
        return try await run("reading the latest checkpoint") { db in
            try Self.head(db, log: log, path: path)?.checkpoint
        }
    }

    public func latestFrontier() async throws -> AuditFrontier? {
        let (log, path) = (self.log, database.path)
        return try await run("reading the frontier") { db in try Self.head(db, log: log, path: path)?.frontier }
    }

    private static func head(_ db: Database, log: String, path: String) throws -> Head? {
        guard
            let row = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT * FROM audit_logs WHERE log = ?"),
                arguments: [log]
            )
        else {
            return nil
        }
        func damaged(_ what: String, _ error: (any Error)? = nil) -> AuditError {
            AuditError(.invalidEncoding, "'\(path)' log '\(log)': \(what)", underlying: error)
        }
        guard let size = row["size"] as Int64?, size > 0, let text = row["checkpoint"] as String?,
            let frontier = row["frontier"] as Data?
        else { throw damaged("the log's row has a missing or invalid column") }
        let head: Head
        do {
            head = Head(
                size: UInt64(size),
                checkpoint: try SignedCheckpoint(text: text),
                frontier: try AuditFrontier(rawRepresentation: Array(frontier))
            )
        } catch {
            throw damaged("the stored checkpoint or frontier does not parse", error)
        }
        guard head.checkpoint.checkpoint.size == head.size, head.frontier.size == head.size else {
            throw damaged("the stored size \(size) disagrees with its checkpoint or frontier")
        }
        return head
    }

    /// Runs a transaction, turning SQLite's failures into `AuditError`s that keep the ``SQLiteStoreError``.
    private func run<T: Sendable>(
        _ what: String,
        write: Bool = false,
        _ body: @escaping @Sendable (Database) throws -> T
    ) async throws -> T {
        do {
            return write ? try await database.write(what, body) : try await database.read(what, body)
        } catch let error as SQLiteStoreError {
            throw AuditError(.storeFailure, "\(what) in '\(database.path)': \(error.context)", underlying: error)
        }
    }
}
#endif
