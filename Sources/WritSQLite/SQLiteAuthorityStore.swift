// WritSQLite: Writ's stores on SQLite (GRDB), built only with the `SQLite` package trait.
#if SQLite
import Foundation
internal import GRDB
public import Writ
import WritCrypto
import WritIdentity

/// An ``AuthorityStore`` in a Writ SQLite database: agents, tasks, steps, join tokens and anomaly memory, one row
/// per record in the `authority_records` table.
///
/// A row holds the record's key (its text form), kind, version and the record as JSON with its stable field names,
/// plus the columns the queries select on. Every write is one `BEGIN IMMEDIATE` transaction that reads the stored
/// version and writes only if it is the one expected, so compare-and-swap is exact across any number of handles
/// and processes on the file, and a join token is consumed once.
///
/// A row that does not decode, whose key or version disagrees with its JSON, fails with
/// `AuthorityStoreError.Code.corrupt` naming the file and the key: a damaged store never reads as missing records.
/// The records are not signed: whoever can write the file can change the authority's state (keep it where only
/// the authority's user can; it is created with mode 0600).
public final class SQLiteAuthorityStore: AuthorityStore {
    /// The database the records are kept in.
    public let database: SQLiteDatabase

    /// A store over an open database (which may hold other stores' tables too).
    public init(database: SQLiteDatabase) { self.database = database }

    /// Opens (creating when missing) the database at `path` and a store over it.
    ///
    /// - Throws: ``SQLiteStoreError`` naming the file when it cannot be opened as a Writ database.
    public convenience init(path: String) throws(SQLiteStoreError) {
        self.init(database: try SQLiteDatabase.open(path: path))
    }

    public func record(for key: AuthorityRecordKey) async throws -> AuthorityRecord? {
        let path = database.path
        return try await run("reading \(key)") { db in
            try Row.fetchOne(
                db.cachedStatement(sql: "SELECT * FROM authority_records WHERE key = ?"),
                arguments: [key.description]
            ).map { try Self.decode($0, path: path) }
        }
    }

    @discardableResult
    public func insert(_ record: AuthorityRecord) async throws -> AuthorityRecord {
        let stored = record.withVersion(1)
        let row = try Self.encode(stored)
        return try await run("inserting \(record.key)", write: true) { db in
            if let found = try Self.version(of: record.key, db) {
                throw AuthorityStoreError.conflict(record.key, expected: nil, found: found)
            }
            try db.cachedStatement(
                sql: """
                    INSERT INTO authority_records (key, kind, version, body, agent, open, due_ms, task)
                    VALUES (?, ?, 1, ?, ?, ?, ?, ?)
                    """
            ).execute(arguments: [row.key, row.kind, row.body, row.agent, row.open, row.due, row.task])
            return stored
        }
    }

    @discardableResult
    public func update(_ record: AuthorityRecord, expecting version: UInt64) async throws -> AuthorityRecord {
        guard version < UInt64(Int64.max) else {
            throw AuthorityStoreError.conflict(record.key, expected: version, found: nil)
        }
        let stored = record.withVersion(version + 1)
        let row = try Self.encode(stored)
        return try await run("updating \(record.key)", write: true) { db in
            try Self.expect(version, of: record.key, db)
            try db.cachedStatement(
                sql: """
                    UPDATE authority_records SET version = ?, body = ?, agent = ?, open = ?, due_ms = ?, task = ?
                    WHERE key = ?
                    """
            ).execute(arguments: [Int64(version + 1), row.body, row.agent, row.open, row.due, row.task, row.key])
            return stored
        }
    }

    public func delete(_ key: AuthorityRecordKey, expecting version: UInt64) async throws {
        try await run("deleting \(key)", write: true) { db in
            try Self.expect(version, of: key, db)
            try db.execute(sql: "DELETE FROM authority_records WHERE key = ?", arguments: [key.description])
        }
    }

    public func records(matching query: AuthorityQuery) async throws -> [AuthorityRecord] {
        let path = database.path
        let (sql, arguments): (String, StatementArguments) =
            switch query {
            case .openTasks(let time):
                ("kind = 'task' AND open = 1 AND due_ms <= ?", [time.millisecondsSinceEpoch])
            case .tasks(let agent):
                ("kind = 'task' AND agent = ?", [agent.description])
            case .steps(let task):
                ("kind = 'step' AND task = ?", [task])
            case .joinTokens(let time?):
                ("kind = 'joinToken' AND due_ms <= ?", [time.millisecondsSinceEpoch])
            case .joinTokens(nil):
                ("kind = 'joinToken'", [])
            }
        let rows = try await run("querying \(query)") { db in
            try Row.fetchAll(db, sql: "SELECT * FROM authority_records WHERE \(sql) ORDER BY key", arguments: arguments)
                .map { try Self.decode($0, path: path) }
        }
        // The columns only narrow the scan; the records themselves decide (and give the order).
        return rows.filter(query.matches).sorted { $0.key < $1.key }
    }

    // MARK: Rows

    private struct EncodedRow: Sendable {
        var key: String
        var kind: String
        var body: Data
        var agent: String?
        var open: Int?
        var due: Int64?
        var task: String?
    }

    private static func encode(_ record: AuthorityRecord) throws -> EncodedRow {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var row = EncodedRow(key: record.key.description, kind: "", body: Data())
        do {
            switch record {
            case .agent(let r):
                row.kind = "agent"
                row.body = try encoder.encode(r)
            case .task(let r):
                row.kind = "task"
                row.body = try encoder.encode(r)
                row.agent = r.agent.description
                row.open = r.state == .open ? 1 : 0
                row.due = r.deadline.millisecondsSinceEpoch
            case .step(let r):
                row.kind = "step"
                row.body = try encoder.encode(r)
                row.task = r.taskID
            case .joinToken(let r):
                row.kind = "joinToken"
                row.body = try encoder.encode(r)
                row.due = r.expiresAt.millisecondsSinceEpoch
            case .anomaly(let r):
                row.kind = "anomaly"
                row.body = try encoder.encode(r)
            }
        } catch {
            throw AuthorityStoreError(.unavailable, "encoding \(record.key)", underlying: error)
        }
        return row
    }

    private static func decode(_ row: Row, path: String) throws -> AuthorityRecord {
        let key: String = row["key"] ?? ""
        func corrupt(_ reason: String, _ error: (any Error)? = nil) -> AuthorityStoreError {
            AuthorityStoreError(
                .corrupt,
                "'\(path)': authority record '\(key)' \(reason)",
                underlying: SQLiteStoreError(.corrupt, path: path, "authority_records row '\(key)': \(reason)")
            )
        }
        guard let kind = row["kind"] as String?, let body = row["body"] as Data?,
            let version = row["version"] as Int64?, version > 0
        else { throw corrupt("has a missing or invalid column") }
        let decoder = JSONDecoder()
        let record: AuthorityRecord
        do {
            switch kind {
            case "agent": record = .agent(try decoder.decode(AgentRecord.self, from: body))
            case "task": record = .task(try decoder.decode(TaskRecord.self, from: body))
            case "step": record = .step(try decoder.decode(StepRecord.self, from: body))
            case "joinToken": record = .joinToken(try decoder.decode(JoinTokenRecord.self, from: body))
            case "anomaly": record = .anomaly(try decoder.decode(AnomalyRecord.self, from: body))
            default: throw corrupt("has unknown kind '\(kind)'")
            }
        } catch let error as AuthorityStoreError {
            throw error
        } catch {
            throw corrupt("does not decode as a \(kind) record", error)
        }
        guard record.key.description == key else { throw corrupt("holds the record of '\(record.key)'") }
        guard record.version == UInt64(version) else {
            throw corrupt("is at version \(version) but its record says \(record.version)")
        }
        return record
    }

    private static func version(of key: AuthorityRecordKey, _ db: Database) throws -> UInt64? {
        try Int64.fetchOne(
            db.cachedStatement(sql: "SELECT version FROM authority_records WHERE key = ?"),
            arguments: [key.description]
        ).map { UInt64(bitPattern: $0) }
    }

    private static func expect(_ version: UInt64, of key: AuthorityRecordKey, _ db: Database) throws {
        guard let found = try Self.version(of: key, db) else {
            throw AuthorityStoreError(.notFound, "\(key) is not stored")
        }
        guard found == version else { throw AuthorityStoreError.conflict(key, expected: version, found: found) }
    }

    /// Runs a transaction, turning SQLite's failures into `AuthorityStoreError`s that keep the ``SQLiteStoreError``.
    private func run<T: Sendable>(
        _ what: String,
        write: Bool = false,
        _ body: @escaping @Sendable (Database) throws -> T
    ) async throws -> T {
        do {
            return write ? try await database.write(what, body) : try await database.read(what, body)
        } catch let error as SQLiteStoreError {
            let code: AuthorityStoreError.Code = error.code == .corrupt ? .corrupt : .unavailable
            throw AuthorityStoreError(code, "\(what) in '\(database.path)': \(error.context)", underlying: error)
        }
    }
}
#endif
