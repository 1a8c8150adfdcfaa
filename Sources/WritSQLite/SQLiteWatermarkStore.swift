// WritSQLite: Writ's stores on SQLite (GRDB), built only with the `SQLite` package trait.
#if SQLite
import Foundation
internal import GRDB
import WritCrypto
public import WritRevocation

/// A ``WatermarkStore`` in a Writ SQLite database: the `watermarks` table, one row per verifier holding the signed
/// bytes of its latest report.
///
/// A report replaces the stored one only when it was recorded later (compared inside the write transaction, so
/// racing verifiers never move a watermark backwards). Reports are not trusted here: a ``RevocationPublisher``
/// counts only those signed by registered verifiers, and a row that does not parse is an error naming the file.
public final class SQLiteWatermarkStore: WatermarkStore {
    /// The database the reports are kept in.
    public let database: SQLiteDatabase

    /// A store over an open database.
    public init(database: SQLiteDatabase) { self.database = database }

    public func record(_ report: WatermarkReport) async throws {
        let bytes = Data(report.bytes)
        try await run("recording the watermark of \(report.verifier)", write: true) { db in
            try db.execute(
                sql: """
                    INSERT INTO watermarks (verifier, recorded_ms, report) VALUES (?, ?, ?)
                    ON CONFLICT (verifier) DO UPDATE SET recorded_ms = excluded.recorded_ms, report = excluded.report
                    WHERE excluded.recorded_ms >= watermarks.recorded_ms
                    """,
                arguments: [report.verifier, report.recordedAt.millisecondsSinceEpoch, bytes]
            )
        }
    }

    public func reports() async throws -> [WatermarkReport] {
        let path = database.path
        return try await run("reading watermarks") { db in
            try Row.fetchAll(db, sql: "SELECT verifier, report FROM watermarks ORDER BY verifier").map { row in
                let verifier: String = row["verifier"] ?? ""
                guard let bytes = row["report"] as Data?, let report = try? WatermarkReport(bytes: Array(bytes)),
                    report.verifier == verifier
                else {
                    throw RevocationError(.malformed, "'\(path)': the watermark row of '\(verifier)' is not its report")
                }
                return report
            }
        }
    }

    public func removeVerifier(_ verifier: String) async throws {
        try await run("removing \(verifier)", write: true) { db in
            try db.execute(sql: "DELETE FROM watermarks WHERE verifier = ?", arguments: [verifier])
        }
    }

    private func run<T: Sendable>(
        _ what: String,
        write: Bool = false,
        _ body: @escaping @Sendable (Database) throws -> T
    ) async throws -> T {
        do {
            return write ? try await database.write(what, body) : try await database.read(what, body)
        } catch let error as SQLiteStoreError {
            throw RevocationError(
                .storeUnavailable,
                "\(what) in '\(database.path)': \(error.context)",
                underlying: error
            )
        }
    }
}
#endif
