// WritSQLite: Writ's stores on SQLite (GRDB), built only with the `SQLite` package trait.
#if SQLite
import Foundation
internal import GRDB

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One Writ database file: a GRDB `DatabasePool` in WAL mode with `synchronous=FULL`, so that a write the stores
/// acknowledge is durable, and a schema created and migrated by one `DatabaseMigrator`.
///
/// Open one per file per process and pass it to every store kept in that file (``SQLiteAuthorityStore``,
/// ``SQLiteRevocationStore``, ``SQLiteNonceStore``, ``SQLiteAuditStore``, ``SQLiteWatermarkStore``); other
/// processes open their own. Writes run in `BEGIN IMMEDIATE` transactions, so writers in any number of processes
/// are serialised by SQLite's lock, and readers see committed snapshots without blocking them.
///
/// **What opening checks.** A file that is not an SQLite database, an SQLite database that is not Writ's (other
/// tables, no Writ `application_id`), a schema newer than this version knows, a file locked past the busy timeout
/// and a file that cannot be written each fail with a ``SQLiteStoreError`` naming the file: never an empty store.
/// An older schema is migrated. Damage inside pages is found by SQLite when it reads them (`corrupt`), and by
/// ``checkIntegrity()`` (`PRAGMA integrity_check`), which opening runs when asked to.
///
/// Inspect a file with `sqlite3 PATH .tables` (README, "Where the state is").
public final class SQLiteDatabase: Sendable {
    /// How a file is opened.
    public enum Mode: Sendable, Hashable {
        /// The file must exist (and be a Writ database, or an empty file).
        case readWrite
        /// The file is created when missing (mode 0600: it holds the authority's state).
        case create
    }

    /// The `PRAGMA application_id` of every Writ database (`WRIT` in ASCII).
    public static let applicationID: Int32 = 0x5752_4954
    /// The schema version this build writes (`PRAGMA user_version`, and one row per migration in
    /// `grdb_migrations`).
    public static let schemaVersion = Schema.migrations.count

    /// The database file's path.
    public let path: String
    let pool: DatabasePool

    private init(path: String, pool: DatabasePool) {
        self.path = path
        self.pool = pool
    }

    /// Opens (or creates) the Writ database at `path`, migrating an older schema.
    ///
    /// - Parameters:
    ///   - path: The database file.
    ///   - mode: Whether a missing file is created.
    ///   - busyTimeout: How long an operation waits for another connection's lock before failing with `busy`.
    ///   - checkIntegrity: Whether to run `PRAGMA integrity_check` before returning (reads the whole file).
    /// - Throws: ``SQLiteStoreError`` naming the file: `unavailable` when it is missing (``Mode/readWrite``) or
    ///   cannot be opened, `notADatabase`, `foreignDatabase`, `newerSchema`, `corrupt`, `busy`, `readOnly`,
    ///   `diskFull`.
    public static func open(
        path: String,
        mode: Mode = .create,
        busyTimeout: Duration = .seconds(5),
        checkIntegrity: Bool = false
    ) throws(SQLiteStoreError) -> SQLiteDatabase {
        try preflight(path: path, mode: mode)
        var configuration = Configuration()
        configuration.busyMode = .timeout(busyTimeout.timeInterval)
        configuration.label = "writ"
        let pool: DatabasePool
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
        } catch {
            throw Self.error(error, path: path, "opening the database")
        }
        let database = SQLiteDatabase(path: path, pool: pool)
        do {
            try pool.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA synchronous = FULL")
                guard try Int.fetchOne(db, sql: "PRAGMA synchronous") == 2 else {
                    throw SQLiteStoreError(.unavailable, path: path, "SQLite refused synchronous=FULL")
                }
            }
            try pool.write { db in try identify(db, path: path) }
            let migrator = Schema.migrator
            if try pool.read({ db in try migrator.hasBeenSuperseded(db) || Schema.userVersion(db) > schemaVersion }) {
                throw SQLiteStoreError(
                    .newerSchema,
                    path: path,
                    "the schema is newer than this version of Writ knows (version \(schemaVersion)); "
                        + "open it with the Writ that wrote it"
                )
            }
            try migrator.migrate(pool)
            if checkIntegrity { try database.integrityCheck() }
        } catch {
            try? pool.close()
            throw Self.error(error, path: path, "opening the database")
        }
        return database
    }

    /// Copies what the write-ahead log holds into the main file (best effort, never waiting for other
    /// connections), then closes the file: every store over it stops working, and further operations fail with
    /// `unavailable`.
    public func close() {
        _ = try? pool.writeWithoutTransaction { db in try db.checkpoint(.passive) }
        try? pool.close()
    }

    /// Runs `PRAGMA integrity_check` over the whole file.
    ///
    /// - Throws: ``SQLiteStoreError`` with code `corrupt` listing what SQLite found (first 10 problems).
    public func checkIntegrity() async throws(SQLiteStoreError) {
        do {
            try await pool.read { [self] db in try self.integrityCheck(db) }
        } catch {
            throw Self.error(error, path: path, "checking integrity")
        }
    }

    private func integrityCheck() throws {
        try pool.read { db in try integrityCheck(db) }
    }

    private func integrityCheck(_ db: Database) throws {
        let problems = try String.fetchAll(db, sql: "PRAGMA integrity_check(10)")
        guard problems == ["ok"] else {
            throw SQLiteStoreError(.corrupt, path: path, "integrity check failed: " + problems.joined(separator: "; "))
        }
    }

    // MARK: Operations

    /// Runs `body` in an immediate write transaction, mapping SQLite's errors to ``SQLiteStoreError``; errors that
    /// `body` throws itself pass through unchanged.
    func write<T: Sendable>(
        _ what: String,
        _ body: @escaping @Sendable (Database) throws -> T
    ) async throws -> T {
        do {
            return try await pool.write(body)
        } catch let error as DatabaseError {
            throw Self.error(error, path: path, what)
        } catch let error as CancellationError {
            throw error
        }
    }

    /// Runs `body` on a read snapshot, mapping SQLite's errors as ``write(_:_:)`` does.
    func read<T: Sendable>(
        _ what: String,
        _ body: @escaping @Sendable (Database) throws -> T
    ) async throws -> T {
        do {
            return try await pool.read(body)
        } catch let error as DatabaseError {
            throw Self.error(error, path: path, what)
        }
    }

    // MARK: Opening

    /// Checks what can be checked before SQLite opens the file: it exists when it must, is a regular file, and
    /// starts with SQLite's header (an empty file is a new database).
    private static func preflight(path: String, mode: Mode) throws(SQLiteStoreError) {
        var info = stat()
        if lstat(path, &info) != 0 {
            guard errno == ENOENT else {
                throw SQLiteStoreError(.unavailable, path: path, "cannot stat: \(String(cString: strerror(errno)))")
            }
            guard mode == .create else {
                throw SQLiteStoreError(.unavailable, path: path, "no such database file")
            }
            let fd = posixOpen(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            if fd < 0 && errno != EEXIST {
                let reason = errno == EROFS || errno == EACCES ? SQLiteStoreError.Code.readOnly : .unavailable
                throw SQLiteStoreError(reason, path: path, "cannot create: \(String(cString: strerror(errno)))")
            }
            if fd >= 0 { posixClose(fd) }
            return
        }
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw SQLiteStoreError(.unavailable, path: path, "not a regular file (a directory or a symbolic link?)")
        }
        guard info.st_size > 0 else { return }
        let fd = posixOpen(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw SQLiteStoreError(.unavailable, path: path, "cannot open: \(String(cString: strerror(errno)))")
        }
        defer { posixClose(fd) }
        var header = [UInt8](repeating: 0, count: 16)
        let count = header.withUnsafeMutableBytes { posixRead(fd, $0.baseAddress, 16) }
        guard count == 16, header == Array("SQLite format 3\0".utf8) else {
            throw SQLiteStoreError(.notADatabase, path: path, "not an SQLite database (no SQLite header)")
        }
        if access(path, W_OK) != 0 || isReadOnlyFileSystem(path) {
            throw SQLiteStoreError(.readOnly, path: path, "the file cannot be written")
        }
    }

    private static func isReadOnlyFileSystem(_ path: String) -> Bool {
        var info = statvfs()
        return statvfs(path, &info) == 0 && info.f_flag & UInt(ST_RDONLY) != 0
    }

    /// Refuses an SQLite database that is not Writ's; stamps a new, empty one with Writ's application id.
    private static func identify(_ db: Database, path: String) throws {
        let id = try Int32.fetchOne(db, sql: "PRAGMA application_id") ?? 0
        if id == applicationID { return }
        let tables = try String.fetchAll(
            db,
            sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        )
        guard id == 0, tables.isEmpty else {
            let what = id == 0 ? "no Writ application id" : String(format: "application id 0x%08x", id)
            throw SQLiteStoreError(
                .foreignDatabase,
                path: path,
                "an SQLite database that is not Writ's (\(what); tables: \(tables.prefix(5).joined(separator: ", ")))"
            )
        }
        try db.execute(sql: "PRAGMA application_id = \(applicationID)")
    }

    /// Maps GRDB's and SQLite's errors to ``SQLiteStoreError`` (a ``SQLiteStoreError`` passes through).
    static func error(_ error: any Error, path: String, _ what: String) -> SQLiteStoreError {
        if let error = error as? SQLiteStoreError { return error }
        guard let error = error as? DatabaseError else {
            return SQLiteStoreError(.unavailable, path: path, what, underlying: error)
        }
        let code: SQLiteStoreError.Code
        let reason: String
        switch error.resultCode {
        case .SQLITE_NOTADB:
            (code, reason) = (.notADatabase, "not an SQLite database")
        case .SQLITE_CORRUPT:
            (code, reason) = (.corrupt, "the database file is damaged")
        case .SQLITE_BUSY, .SQLITE_LOCKED:
            (code, reason) = (.busy, "the database stayed locked by another connection past the busy timeout")
        case .SQLITE_READONLY:
            (code, reason) = (.readOnly, "the database cannot be written")
        case .SQLITE_FULL:
            (code, reason) = (.diskFull, "the disk is full; nothing was written")
        case .SQLITE_CANTOPEN where access(path, W_OK) != 0 || isReadOnlyFileSystem(path):
            (code, reason) = (.readOnly, "the database (or its -wal/-shm files) cannot be written")
        case .SQLITE_IOERR where error.extendedResultCode.rawValue == 0x030A:  // SQLITE_IOERR_WRITE
            (code, reason) = (.diskFull, "a write failed (the disk may be full); nothing was acknowledged")
        default:
            (code, reason) = (.unavailable, "SQLite error \(error.resultCode.rawValue)")
        }
        return SQLiteStoreError(code, path: path, "\(what): \(reason)", underlying: error)
    }
}

private func posixOpen(_ path: String, _ flags: Int32, _ mode: mode_t = 0) -> Int32 { open(path, flags, mode) }
private func posixClose(_ fd: Int32) { _ = close(fd) }
private func posixRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int { read(fd, buffer, count) }

extension Duration {
    var timeInterval: TimeInterval {
        let (seconds, attoseconds) = components
        return TimeInterval(seconds) + TimeInterval(attoseconds) / 1e18
    }
}

/// Every table of a Writ database, created by numbered migrations.
enum Schema {
    /// The migrations, in order; never edit one that shipped, add the next.
    static let migrations: [(String, @Sendable (Database) throws -> Void)] = [
        ("v1", { db in try db.execute(sql: version1) })
    ]

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        for (number, (identifier, body)) in migrations.enumerated() {
            migrator.registerMigration(identifier) { db in
                try body(db)
                try db.execute(sql: "PRAGMA user_version = \(number + 1)")
            }
        }
        return migrator
    }

    static func userVersion(_ db: Database) throws -> Int { try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0 }

    static let version1 = """
        CREATE TABLE authority_records (
            key TEXT PRIMARY KEY NOT NULL,
            kind TEXT NOT NULL,
            version INTEGER NOT NULL,
            body BLOB NOT NULL,
            agent TEXT,
            open INTEGER,
            due_ms INTEGER,
            task TEXT
        );
        CREATE INDEX authority_records_tasks ON authority_records (kind, agent);
        CREATE INDEX authority_records_due ON authority_records (kind, open, due_ms);
        CREATE INDEX authority_records_steps ON authority_records (kind, task);

        CREATE TABLE revocation_entries (
            sequence INTEGER PRIMARY KEY NOT NULL,
            target TEXT NOT NULL,
            record BLOB NOT NULL
        );
        CREATE INDEX revocation_entries_target ON revocation_entries (target, sequence);
        CREATE TABLE revocation_marks (
            kind TEXT PRIMARY KEY NOT NULL CHECK (kind IN ('head', 'floor')),
            sequence INTEGER NOT NULL,
            record BLOB NOT NULL
        );

        CREATE TABLE nonces (
            nonce BLOB PRIMARY KEY NOT NULL,
            expires_ms INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX nonces_expiry ON nonces (expires_ms);

        CREATE TABLE audit_entries (
            log TEXT NOT NULL,
            idx INTEGER NOT NULL,
            entry BLOB NOT NULL,
            PRIMARY KEY (log, idx)
        );
        CREATE TABLE audit_logs (
            log TEXT PRIMARY KEY NOT NULL,
            size INTEGER NOT NULL,
            checkpoint TEXT NOT NULL,
            frontier BLOB NOT NULL
        );

        CREATE TABLE watermarks (
            verifier TEXT PRIMARY KEY NOT NULL,
            recorded_ms INTEGER NOT NULL,
            report BLOB NOT NULL
        );
        """
}
#endif
