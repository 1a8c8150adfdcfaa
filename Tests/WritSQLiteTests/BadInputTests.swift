#if SQLite
import Dispatch
import Foundation
import GRDB
import Testing
import Writ
import WritCrypto
import WritRevocation
import WritSQLite
import WritTesting
import WritTokens

/// Files that are not what Writ wrote: each is a typed error naming the file, never a crash, never an empty store.
@Suite("SQLite bad input")
struct BadInputTests {
    let key = Ed25519.PrivateKey()
    let clock = ManualClock()

    func expectOpenFails(_ path: String, _ code: SQLiteStoreError.Code, mode: SQLiteDatabase.Mode = .create) {
        do {
            let database = try SQLiteDatabase.open(path: path, mode: mode, busyTimeout: .milliseconds(200))
            database.close()
            Issue.record("opening '\(path)' succeeded; expected \(code)")
        } catch {
            #expect(error.code == code, "\(error)")
            #expect(error.path == path && error.description.contains(path), "the error must name the file: \(error)")
        }
    }

    func revoke(_ store: some RevocationStore, _ n: UInt64) async throws -> SignedRevocationEntry {
        try await store.append(
            [
                RevocationRequest(
                    .block(RevocationID(high: 7, low: n)),
                    reason: .manual,
                    at: clock.now(),
                    coversUntil: clock.now().advanced(by: .seconds(60))
                )
            ],
            signer: key,
            minimum: nil
        )[0]
    }

    @Test("a file that is not a database is refused as not-a-database")
    func notADatabase() throws {
        let directory = try TemporaryDirectory()
        let text = directory.path("notes.txt")
        try Data("these are not the tables you are looking for\n".utf8).write(to: URL(fileURLWithPath: text))
        expectOpenFails(text, .notADatabase)
        // An SQLite header followed by garbage is no better.
        let fake = directory.path("fake.sqlite")
        try Data(Array("SQLite format 3\0".utf8) + (0..<8192).map { UInt8(truncatingIfNeeded: $0 &* 37) })
            .write(to: URL(fileURLWithPath: fake))
        expectOpenFails(fake, .notADatabase)
        // Neither file was changed into a database.
        #expect(try Data(contentsOf: URL(fileURLWithPath: text)).count == 45)
    }

    @Test("an SQLite database of another application is refused as foreign, and left alone")
    func foreignDatabase() throws {
        let path = freshPath("foreign")
        try rawSQL(path) { db in
            try db.execute(
                sql: "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO users VALUES (1, 'a')"
            )
        }
        expectOpenFails(path, .foreignDatabase)
        try rawSQL(path) { db in
            #expect(try Int.fetchOne(db, sql: "SELECT count(*) FROM users") == 1)
            #expect(try Bool.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master WHERE name = 'nonces'") == false)
            // Another application's id, even with no tables, is not Writ's either.
            try db.execute(sql: "DROP TABLE users; PRAGMA application_id = 1234")
        }
        expectOpenFails(path, .foreignDatabase)
    }

    @Test("a newer schema is refused with a clear error; an older one is migrated")
    func schemaVersions() async throws {
        let path = freshPath("schema")
        try SQLiteDatabase.open(path: path).close()
        try rawSQL(path) { db in
            #expect(try Int.fetchOne(db, sql: "PRAGMA user_version") == SQLiteDatabase.schemaVersion)
            try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v99-from-the-future')")
        }
        expectOpenFails(path, .newerSchema)
        try rawSQL(path) { db in
            try db.execute(sql: "DELETE FROM grdb_migrations WHERE identifier LIKE 'v99%'; PRAGMA user_version = 99")
        }
        expectOpenFails(path, .newerSchema)

        // Version 0: a file stamped as Writ's before any table existed. Opening migrates it, and the stores work.
        let old = freshPath("old")
        try rawSQL(old) { db in try db.execute(sql: "PRAGMA application_id = \(SQLiteDatabase.applicationID)") }
        let database = try SQLiteDatabase.open(path: old, mode: .readWrite)
        defer { database.close() }
        #expect(try await revoke(SQLiteRevocationStore(database: database), 1).sequence == 1)
        try rawSQL(old) { (db: Database) throws in
            #expect(try Int.fetchOne(db, sql: "PRAGMA user_version") == SQLiteDatabase.schemaVersion)
            #expect(try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations") == ["v1"])
        }
    }

    @Test("a missing file (read-write mode) and a directory are refused as unavailable")
    func missingAndDirectory() throws {
        let directory = try TemporaryDirectory()
        expectOpenFails(directory.path("absent.sqlite"), .unavailable, mode: .readWrite)
        #expect(!FileManager.default.fileExists(atPath: directory.path("absent.sqlite")), "read-write must not create")
        expectOpenFails(directory.url.path, .unavailable)
    }

    @Test("a corrupted page: integrity_check fails, and reads never return a silently different feed")
    func corruptedPage() async throws {
        let path = freshPath("corrupt")
        var written: [SignedRevocationEntry] = []
        do {
            let database = try SQLiteDatabase.open(path: path)
            let store = SQLiteRevocationStore(database: database)
            for n in 1...200 { written.append(try await revoke(store, UInt64(n))) }
            database.close()
        }
        do {  // every page in the main file, the WAL empty
            let queue = try DatabaseQueue(path: path)
            try await queue.writeWithoutTransaction { db in _ = try db.checkpoint(.truncate) }
            try queue.close()
        }
        // Overwrite pages 3… (of 4096 bytes) with garbage, as a failing disk or a careless editor would.
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
        let size = try handle.seekToEnd()
        #expect(size > 4 * 4096, "the feed spans several pages")
        try handle.seek(toOffset: 2 * 4096)
        handle.write(Data((0..<Int(size) - 2 * 4096).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ 7) }))
        try handle.close()

        do {
            _ = try SQLiteDatabase.open(path: path, checkIntegrity: true)
            Issue.record("a damaged file passed the integrity check")
        } catch {
            #expect(error.code == .corrupt && error.description.contains(path), "\(error)")
        }
        // Opened without the check, the feed is never read as something else: an error, or exactly what was written.
        do {
            let database = try SQLiteDatabase.open(path: path)
            defer { database.close() }
            do {
                let entries = try await SQLiteRevocationStore(database: database).contents().entries
                #expect(entries == written, "a damaged feed read back as \(entries.count) other entries")
            } catch let error as RevocationError {
                #expect(error.code == .corruptStore || error.code == .malformed || error.code == .tampered, "\(error)")
                #expect(error.description.contains(path), "\(error)")
            }
            await #expect(throws: SQLiteStoreError(.corrupt, path: path, "")) { try await database.checkIntegrity() }
        } catch let error as SQLiteStoreError {
            #expect(error.code == .corrupt, "\(error)")
        }
    }

    @Test("a database locked past the busy timeout: opening and every store fail with busy, naming the file")
    func lockedPastBusyTimeout() async throws {
        let path = freshPath("locked")
        let database = try SQLiteDatabase.open(path: path, busyTimeout: .milliseconds(150))
        defer { database.close() }
        let locked = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let holder = try DatabaseQueue(path: path)
        DispatchQueue.global().async {
            try? holder.writeWithoutTransaction { db in
                try db.execute(sql: "BEGIN EXCLUSIVE")
                locked.signal()
                release.wait()
                try db.execute(sql: "ROLLBACK")
            }
        }
        locked.wait()
        defer { release.signal() }

        func expectBusy(_ error: (any Error)?, _ what: String) {
            let underlying: SQLiteStoreError? =
                switch error {
                case let e as RevocationError: e.underlying as? SQLiteStoreError
                case let e as AuthorityStoreError: e.underlying as? SQLiteStoreError
                case let e as NonceStoreError: e.underlying as? SQLiteStoreError
                case let e as AuditError: e.underlying as? SQLiteStoreError
                default: nil
                }
            #expect(underlying?.code == .busy && underlying?.path == path, "\(what): \(String(describing: error))")
            #expect(error.map { "\($0)" }?.contains(path) == true, "\(what) must name the file")
        }
        do {
            _ = try await revoke(SQLiteRevocationStore(database: database), 1)
            Issue.record("a revocation was acknowledged while the file was locked")
        } catch { expectBusy(error, "revocation") }
        do {
            _ = try await SQLiteAuthorityStore(database: database).insert(
                .anomaly(AnomalyRecord(tokenID: "t", firstSeen: clock.now()))
            )
            Issue.record("an authority write was acknowledged while the file was locked")
        } catch { expectBusy(error, "authority") }
        do {
            _ = try await SQLiteNonceStore(database: database, clock: clock).insertIfAbsent(
                .random(),
                expiresAt: clock.now().advanced(by: .seconds(9))
            )
            Issue.record("a nonce was acknowledged while the file was locked")
        } catch { expectBusy(error, "nonce") }
        expectOpenFails(path, .busy)
        release.signal()
        try await Task.sleep(for: .milliseconds(50))
        #expect(try await revoke(SQLiteRevocationStore(database: database), 1).sequence == 1, "unlocked: works again")
    }

    @Test("a read-only file (read-only mount, or mode 0444 when not root) is refused as read-only")
    func readOnlyFile() async throws {
        if let mount = try SmallFileSystem(size: "4m") {
            let database = try SQLiteDatabase.open(path: mount.path + "/state.sqlite")
            _ = try await revoke(SQLiteRevocationStore(database: database), 1)
            database.close()
            // A writer still open on the file system (as a child spawned by another test may briefly hold) must
            // not stop the read-only view from being made.
            let writer = open(mount.path + "/state.sqlite", O_WRONLY)
            defer { if writer >= 0 { close(writer) } }
            let view = try #require(try mount.readOnlyView(), "a read-only bind mount of the tmpfs")
            expectOpenFails(view.path + "/state.sqlite", .readOnly)
            expectOpenFails(view.path + "/new.sqlite", .readOnly)
        } else {
            let path = freshPath("readonly")
            try SQLiteDatabase.open(path: path).close()
            #expect(chmod(path, 0o444) == 0)
            expectOpenFails(path, .readOnly)
        }
    }
}

#endif
