#if Postgres
import Foundation
internal import PostgresNIO
public import WritAudit

/// An ``AuditStore`` in PostgreSQL: one log (by name) of one deployment's schema, shared by every process that
/// reads it, with one writer at a time.
///
/// **One writer per log.** Every append is one transaction that first takes a transaction-scoped advisory lock
/// on the log's name (`pg_advisory_xact_lock`), then checks that `firstIndex` is the log's stored size, inserts
/// the batch and replaces the log's head row (size, signed checkpoint, frontier) before committing. A second
/// writer (another process) therefore waits its turn and then finds the size moved: its append fails with
/// ``AuditError/Code/conflict`` and never interleaves. The batch and the checkpoint that signs it commit together.
public final class PostgresAuditStore: AuditStore {
    /// The service whose pool and schema this store uses.
    public let service: WritPostgresService
    /// The log's name within the schema.
    public let log: String

    /// A store for the log named `log` on `service`'s schema (run ``WritPostgresService/migrate()`` once first).
    public init(service: WritPostgresService, log: String = "audit") {
        self.service = service
        self.log = log
    }

    private var entries: String { service.table("audit_entries") }
    private var heads: String { service.table("audit_heads") }

    public func count() async throws -> UInt64 {
        let size = try await run("counting the entries of log '\(log)'") {
            try await self.service.query(
                "SELECT size FROM \(unescaped: self.heads) WHERE log = \(self.log)"
            ).first?.decode(Int64.self) ?? 0
        }
        guard let count = UInt64(exactly: size) else {
            throw AuditError(.tampered, "log '\(log)' has a negative size \(size)")
        }
        return count
    }

    public func append(
        _ batch: [[UInt8]],
        firstIndex: UInt64,
        checkpoint: SignedCheckpoint,
        frontier: AuditFrontier
    ) async throws {
        guard !batch.isEmpty else { return }
        let end = firstIndex.addingReportingOverflow(UInt64(batch.count))
        guard !end.overflow, let first = Int64(exactly: firstIndex), let size = Int64(exactly: end.partialValue) else {
            throw AuditError(.conflict, "append at \(firstIndex) of \(batch.count) entries is out of range")
        }
        try checkpoint.checkStored(size: end.partialValue, frontier: frontier)
        let text = checkpoint.text
        let frontierBytes = Data(frontier.rawRepresentation)
        try await run("appending to log '\(log)'") {
            try await self.service.transaction { connection in
                try await connection.query(
                    "SELECT pg_advisory_xact_lock(hashtext(\("writ-audit:" + self.service.schema + ":" + self.log)))",
                    logger: self.service.logger
                )
                let stored =
                    try await connection.query(
                        "SELECT size FROM \(unescaped: self.heads) WHERE log = \(self.log) FOR UPDATE",
                        logger: self.service.logger
                    ).collect().first?.decode(Int64.self) ?? 0
                guard stored == first else {
                    throw AuditError(.conflict, "append at \(firstIndex) but log '\(self.log)' holds \(stored) entries")
                }
                for (offset, entry) in batch.enumerated() {
                    try await connection.query(
                        "INSERT INTO \(unescaped: self.entries) (log, index, entry) VALUES (\(self.log), \(first + Int64(offset)), \(Data(entry)))",
                        logger: self.service.logger
                    )
                }
                try await connection.query(
                    "INSERT INTO \(unescaped: self.heads) (log, size, checkpoint, frontier) VALUES (\(self.log), \(size), \(text), \(frontierBytes)) ON CONFLICT (log) DO UPDATE SET size = EXCLUDED.size, checkpoint = EXCLUDED.checkpoint, frontier = EXCLUDED.frontier",
                    logger: self.service.logger
                )
            }
        }
    }

    public func read(_ range: Range<UInt64>) async throws -> [[UInt8]] {
        let total = try await count()
        guard range.upperBound <= total else {
            throw AuditError(.outOfRange, "read up to \(range.upperBound) but log '\(log)' holds \(total)")
        }
        guard !range.isEmpty else { return [] }
        let lower = Int64(range.lowerBound)
        let upper = Int64(range.upperBound)
        let rows = try await run("reading log '\(log)'") {
            try await self.service.query(
                "SELECT index, entry FROM \(unescaped: self.entries) WHERE log = \(self.log) AND index >= \(lower) AND index < \(upper) ORDER BY index"
            ).map { try $0.decode((Int64, Data).self) }
        }
        guard rows.count == range.count, rows.enumerated().allSatisfy({ $0.element.0 == lower + Int64($0.offset) })
        else {
            throw AuditError(.tampered, "log '\(log)': entries \(range) are missing or out of place")
        }
        return rows.map { Array($0.1) }
    }

    public func latestCheckpoint() async throws -> SignedCheckpoint? {
        guard let text = try await head()?.checkpoint else { return nil }
        do {
            return try SignedCheckpoint(text: text)
        } catch {
            throw AuditError(.tampered, "log '\(log)': the stored checkpoint does not parse", underlying: error)
        }
    }

    public func latestFrontier() async throws -> AuditFrontier? {
        guard let bytes = try await head()?.frontier else { return nil }
        do {
            return try AuditFrontier(rawRepresentation: Array(bytes))
        } catch {
            throw AuditError(.tampered, "log '\(log)': the stored frontier does not parse", underlying: error)
        }
    }

    private func head() async throws -> (checkpoint: String, frontier: Data)? {
        try await run("reading the head of log '\(log)'") {
            try await self.service.query(
                "SELECT checkpoint, frontier FROM \(unescaped: self.heads) WHERE log = \(self.log)"
            ).first?.decode((String, Data).self)
        }.map { (checkpoint: $0.0, frontier: $0.1) }
    }

    private func run<T: Sendable>(_ what: String, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as AuditError {
            throw error
        } catch {
            let cause = PostgresStoreError.classify(error, doing: what)
            throw AuditError(.storeFailure, cause.description, underlying: cause)
        }
    }
}
#endif
