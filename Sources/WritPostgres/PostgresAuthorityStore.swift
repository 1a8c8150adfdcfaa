#if Postgres
import Foundation
internal import PostgresNIO
public import Writ
import WritCrypto
import WritIdentity

/// An ``AuthorityStore`` in PostgreSQL: the records every authority replica of one deployment shares.
///
/// Each record is one row: its key's text, its version, the record as JSON, and the few columns queries select
/// by (kind, owning task or agent, deadline or expiry, open). Compare-and-swap is one statement
/// (`UPDATE … WHERE key = $1 AND version = $2`), so two replicas racing on a record never both win: one gets
/// ``AuthorityStoreError/Code/conflict``, reads again and retries, as ``CredentialAuthority`` does. A join token
/// is consumed by deleting its row expecting the version read, so exactly one replica gets it.
public final class PostgresAuthorityStore: AuthorityStore {
    /// The service whose pool and schema this store uses.
    public let service: WritPostgresService

    /// A store on `service`'s schema (run ``WritPostgresService/migrate()`` once first).
    public init(service: WritPostgresService) {
        self.service = service
    }

    private var table: String { service.table("authority_records") }

    public func record(for key: AuthorityRecordKey) async throws -> AuthorityRecord? {
        let row = try await run("reading \(key)") {
            try await self.service.query(
                "SELECT kind, version, body FROM \(unescaped: self.table) WHERE key = \(key.description)"
            ).first?.decode((String, Int64, Data).self)
        }
        guard let (kind, version, body) = row else { return nil }
        return try Self.decode(kind: kind, version: version, body: body, key: key.description)
    }

    @discardableResult
    public func insert(_ record: AuthorityRecord) async throws -> AuthorityRecord {
        let stored = record.withVersion(1)
        let c = try Self.columns(stored)
        let inserted = try await run("inserting \(record.key)") {
            try await self.service.query(
                "INSERT INTO \(unescaped: self.table) (key, kind, version, parent, due, open, body) VALUES (\(record.key.description), \(c.kind), 1, \(c.parent), \(c.due), \(c.open), \(c.body)) ON CONFLICT (key) DO NOTHING RETURNING 1"
            ).count == 1
        }
        guard inserted else {
            throw AuthorityStoreError.conflict(record.key, expected: nil, found: try await storedVersion(record.key))
        }
        return stored
    }

    @discardableResult
    public func update(_ record: AuthorityRecord, expecting version: UInt64) async throws -> AuthorityRecord {
        let key = record.key
        guard let expected = Int64(exactly: version), version < UInt64(Int64.max) else {
            throw AuthorityStoreError.conflict(key, expected: version, found: try await storedVersion(key))
        }
        let stored = record.withVersion(version + 1)
        let c = try Self.columns(stored)
        let updated = try await run("updating \(key)") {
            try await self.service.query(
                "UPDATE \(unescaped: self.table) SET version = version + 1, parent = \(c.parent), due = \(c.due), open = \(c.open), body = \(c.body) WHERE key = \(key.description) AND kind = \(c.kind) AND version = \(expected) RETURNING 1"
            ).count == 1
        }
        guard updated else { throw try await missOrConflict(key, expected: version) }
        return stored
    }

    public func delete(_ key: AuthorityRecordKey, expecting version: UInt64) async throws {
        guard let expected = Int64(exactly: version) else {
            throw try await missOrConflict(key, expected: version)
        }
        let deleted = try await run("deleting \(key)") {
            try await self.service.query(
                "DELETE FROM \(unescaped: self.table) WHERE key = \(key.description) AND version = \(expected) RETURNING 1"
            ).count == 1
        }
        guard deleted else { throw try await missOrConflict(key, expected: version) }
    }

    public func records(matching query: AuthorityQuery) async throws -> [AuthorityRecord] {
        let select = "SELECT key, kind, version, body FROM \(table) WHERE"
        let sql: PostgresQuery
        switch query {
        case .openTasks(let time):
            sql = "\(unescaped: select) kind = 'task' AND open AND due <= \(time.millisecondsSinceEpoch)"
        case .tasks(let agent):
            sql = "\(unescaped: select) kind = 'task' AND parent = \(agent.description)"
        case .steps(let task):
            sql = "\(unescaped: select) kind = 'step' AND parent = \(task)"
        case .joinTokens(let time):
            sql = "\(unescaped: select) kind = 'join' AND due <= \(time?.millisecondsSinceEpoch ?? Int64.max)"
        }
        let rows = try await run("querying \(query)") {
            var rows: [(String, String, Int64, Data)] = []
            for row in try await self.service.query(sql) {
                rows.append(try row.decode((String, String, Int64, Data).self))
            }
            return rows
        }
        var records: [AuthorityRecord] = []
        for (key, kind, version, body) in rows {
            let record = try Self.decode(kind: kind, version: version, body: body, key: key)
            if query.matches(record) { records.append(record) }
        }
        return records.sorted { $0.key < $1.key }
    }

    // MARK: Internals

    private func storedVersion(_ key: AuthorityRecordKey) async throws -> UInt64? {
        try await run("reading the version of \(key)") {
            try await self.service.query(
                "SELECT version FROM \(unescaped: self.table) WHERE key = \(key.description)"
            ).first?.decode(Int64.self)
        }.flatMap { UInt64(exactly: $0) }
    }

    private func missOrConflict(_ key: AuthorityRecordKey, expected: UInt64) async throws -> AuthorityStoreError {
        guard let found = try await storedVersion(key) else {
            return AuthorityStoreError(.notFound, "\(key) is not stored")
        }
        return AuthorityStoreError.conflict(key, expected: expected, found: found)
    }

    private func run<T: Sendable>(_ what: String, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as AuthorityStoreError {
            throw error
        } catch {
            let cause = PostgresStoreError.classify(error, doing: what)
            throw AuthorityStoreError(.unavailable, cause.description, underlying: cause)
        }
    }

    private struct Columns {
        var kind: String
        var parent: String?
        var due: Int64?
        var open: Bool
        var body: Data
    }

    private static func columns(_ record: AuthorityRecord) throws -> Columns {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        do {
            switch record {
            case .agent(let r):
                return Columns(kind: "agent", parent: nil, due: nil, open: false, body: try encoder.encode(r))
            case .task(let r):
                return Columns(
                    kind: "task",
                    parent: r.agent.description,
                    due: r.deadline.millisecondsSinceEpoch,
                    open: r.state == .open,
                    body: try encoder.encode(r)
                )
            case .step(let r):
                return Columns(kind: "step", parent: r.taskID, due: nil, open: false, body: try encoder.encode(r))
            case .joinToken(let r):
                return Columns(
                    kind: "join",
                    parent: nil,
                    due: r.expiresAt.millisecondsSinceEpoch,
                    open: false,
                    body: try encoder.encode(r)
                )
            case .anomaly(let r):
                return Columns(kind: "anomaly", parent: nil, due: nil, open: false, body: try encoder.encode(r))
            }
        } catch {
            throw AuthorityStoreError(.corrupt, "\(record.key) cannot be encoded", underlying: error)
        }
    }

    private static func decode(kind: String, version: Int64, body: Data, key: String) throws -> AuthorityRecord {
        let decoder = JSONDecoder()
        let record: AuthorityRecord
        do {
            switch kind {
            case "agent": record = .agent(try decoder.decode(AgentRecord.self, from: body))
            case "task": record = .task(try decoder.decode(TaskRecord.self, from: body))
            case "step": record = .step(try decoder.decode(StepRecord.self, from: body))
            case "join": record = .joinToken(try decoder.decode(JoinTokenRecord.self, from: body))
            case "anomaly": record = .anomaly(try decoder.decode(AnomalyRecord.self, from: body))
            default: throw AuthorityStoreError(.corrupt, "\(key.prefix(200)): unknown kind '\(kind.prefix(32))'")
            }
        } catch let error as AuthorityStoreError {
            throw error
        } catch {
            throw AuthorityStoreError(
                .corrupt,
                "\(key.prefix(200)): the stored record does not decode",
                underlying: error
            )
        }
        guard record.key.description == key else {
            throw AuthorityStoreError(.corrupt, "\(key.prefix(200)): the stored record is \(record.key)")
        }
        guard let stored = UInt64(exactly: version), stored > 0 else {
            throw AuthorityStoreError(.corrupt, "\(key.prefix(200)): version \(version)")
        }
        return record.withVersion(stored)
    }
}
#endif
