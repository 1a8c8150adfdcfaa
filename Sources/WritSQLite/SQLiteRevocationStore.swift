// WritSQLite: Writ's stores on SQLite (GRDB), built only with the `SQLite` package trait.
#if SQLite
import Foundation
internal import GRDB
public import WritCrypto
public import WritRevocation

/// A ``RevocationStore`` in a Writ SQLite database: the signed revocation feed that verifiers follow.
///
/// **Tables.** `revocation_entries` holds one row per entry — its sequence, its target's text form (to find
/// retries) and the entry's signed bytes; `revocation_marks` holds the latest signed head and the floor as their
/// signed bytes. Nothing else is stored: every value a reader uses is parsed from the signed bytes, and a row
/// whose columns disagree with them is refused.
///
/// **Writing.** Each ``append(_:signer:minimum:)``, ``publishHead(at:signer:minimum:)`` and
/// ``prune(expiredBefore:at:signer:)`` is one `BEGIN IMMEDIATE` transaction: it reads the tip, refuses a store
/// that is behind the writer's `minimum` or whose head claims entries that are not there (`tampered`), assigns the
/// next sequence, links the previous hash, asks the signer for the signature and commits — so writers in any
/// number of processes extend one chain, and an entry is visible only once it and every entry before it are
/// committed (and, with `synchronous=FULL`, durable).
///
/// **Reading.** ``page(after:limit:)`` reads the head, then the entries, in one read transaction (a snapshot), so
/// an honest page never has a head newer than its entries. Followers verify every signature and link themselves;
/// whoever can write the file can delete or roll back rows but cannot forge one, and followers then go stale.
public final class SQLiteRevocationStore: RevocationStore {
    /// The database the feed is kept in.
    public let database: SQLiteDatabase

    /// A store over an open database.
    public init(database: SQLiteDatabase) { self.database = database }

    private let announcer = FeedAnnouncer()

    /// Opens (creating when missing) the database at `path` and a store over it.
    ///
    /// - Throws: ``SQLiteStoreError`` naming the file when it cannot be opened as a Writ database.
    public convenience init(path: String) throws(SQLiteStoreError) {
        self.init(database: try SQLiteDatabase.open(path: path))
    }

    private var name: String { "the feed in '\(database.path)'" }

    public func append(
        _ revocations: [RevocationRequest],
        signer: some Signer,
        minimum: RevocationFeedTip?
    ) async throws -> [SignedRevocationEntry] {
        for request in revocations { try request.target.validate() }
        guard !revocations.isEmpty else { return [] }
        let name = self.name
        let entries = try await run("appending revocations", write: true) { db in
            var tip = try Self.checkedTip(db, minimum: minimum, store: name)
            var written: [SignedRevocationEntry] = []
            for request in revocations {
                let target = Self.column(request.target)
                if let existing = try Self.newestEntry(for: target, db, store: name),
                    existing.entry.target == request.target, existing.entry.reason == request.reason,
                    existing.entry.coversUntil >= request.coversUntil
                {
                    written.append(existing)
                    continue
                }
                guard tip.sequence < UInt64(Int64.max) else {
                    throw RevocationError(.storeUnavailable, "\(name) is at its last sequence")
                }
                let entry = try SignedRevocationEntry(
                    signing: RevocationEntry(
                        sequence: tip.sequence + 1,
                        target: request.target,
                        reason: request.reason,
                        revokedAt: request.revokedAt,
                        coversUntil: request.coversUntil
                    ),
                    previousHash: tip.hash,
                    signer: signer
                )
                try db.cachedStatement(
                    sql: "INSERT INTO revocation_entries (sequence, target, record) VALUES (?, ?, ?)"
                ).execute(arguments: [Int64(entry.sequence), target, Data(entry.bytes)])
                tip = RevocationFeedTip(sequence: entry.sequence, hash: entry.hash)
                written.append(entry)
            }
            return written
        }
        if let last = entries.map(\.sequence).max() { announcer.announce(last) }
        return entries
    }

    public func publishHead(
        at time: Timestamp,
        signer: some Signer,
        minimum: RevocationFeedTip?
    ) async throws -> SignedFeedMark {
        let name = self.name
        let head = try await run("publishing a head", write: true) { db in
            let tip = try Self.checkedTip(db, minimum: minimum, store: name)
            let head = try SignedFeedMark(
                signing: .head,
                sequence: tip.sequence,
                hash: tip.hash,
                issuedAt: time,
                signer: signer
            )
            try Self.store(head, db)
            return head
        }
        announcer.announce(head.sequence)
        return head
    }

    /// The tip after each write made through this store (a wake-up hint: a follower or a held feed long-poll in
    /// this process reads at once). Writes by other handles or processes are not announced: those followers poll.
    public func announcements() -> AsyncStream<UInt64>? { announcer.subscribe() }

    public func page(after sequence: UInt64, limit: Int) async throws -> RevocationFeedPage {
        guard limit > 0 else { throw RevocationError(.invalidArgument, "page limit must be at least 1, got \(limit)") }
        let name = self.name
        return try await run("reading the feed") { db in
            let head = try Self.mark(.head, db, store: name)
            let floor = try Self.mark(.floor, db, store: name)
            let after = Int64(clamping: sequence)
            let rows = try Row.fetchAll(
                db,
                sql: "SELECT sequence, record FROM revocation_entries WHERE sequence > ? ORDER BY sequence LIMIT ?",
                arguments: [after, Int64(clamping: limit)]
            )
            var entries: [SignedRevocationEntry] = []
            entries.reserveCapacity(rows.count)
            for row in rows {
                let entry = try Self.entry(row, store: name)
                if let previous = entries.last,
                    entry.sequence != previous.sequence + 1 || entry.previousHash != previous.hash
                {
                    throw RevocationError(
                        .tampered,
                        "\(name): entry #\(entry.sequence) does not follow #\(previous.sequence) (entries missing or altered)"
                    )
                }
                entries.append(entry)
            }
            let floorShown = floor.flatMap { sequence < $0.sequence ? $0 : nil }
            return RevocationFeedPage(floor: floorShown, entries: entries, head: head)
        }
    }

    @discardableResult
    public func prune(expiredBefore time: Timestamp, at now: Timestamp, signer: some Signer) async throws -> Int {
        let name = self.name
        return try await run("pruning the feed", write: true) { db in
            _ = try Self.checkedTip(db, minimum: nil, store: name)
            var last: SignedRevocationEntry?
            var count = 0
            let cursor = try Row.fetchCursor(
                db,
                sql: "SELECT sequence, record FROM revocation_entries ORDER BY sequence"
            )
            while let row = try cursor.next() {
                let entry = try Self.entry(row, store: name)
                guard entry.entry.coversUntil < time else { break }
                last = entry
                count += 1
            }
            guard let last else { return 0 }
            let floor = try SignedFeedMark(
                signing: .floor,
                sequence: last.sequence,
                hash: last.hash,
                issuedAt: now,
                signer: signer
            )
            try db.execute(sql: "DELETE FROM revocation_entries WHERE sequence <= ?", arguments: [Int64(last.sequence)])
            try Self.store(floor, db)
            return count
        }
    }

    // MARK: Rows

    /// The text form of a target in the `target` column (only to find retries: the signed bytes decide).
    static func column(_ target: RevocationTarget) -> String { "\(target.kind.rawValue):\(target.value)" }

    private static func entry(_ row: Row, store: String) throws -> SignedRevocationEntry {
        let sequence: Int64 = row["sequence"]
        guard let bytes = row["record"] as Data? else {
            throw RevocationError(.malformed, "\(store): entry row #\(sequence) has no record")
        }
        let entry: SignedRevocationEntry
        do {
            entry = try SignedRevocationEntry(bytes: Array(bytes))
        } catch {
            throw RevocationError(.malformed, "\(store): entry row #\(sequence): \(error.context)")
        }
        guard entry.sequence == UInt64(bitPattern: sequence) else {
            throw RevocationError(.tampered, "\(store): row #\(sequence) holds the signed entry #\(entry.sequence)")
        }
        return entry
    }

    private static func entry(at sequence: UInt64, _ db: Database, store: String) throws -> SignedRevocationEntry? {
        try Row.fetchOne(
            db.cachedStatement(sql: "SELECT sequence, record FROM revocation_entries WHERE sequence = ?"),
            arguments: [Int64(clamping: sequence)]
        ).map { try entry($0, store: store) }
    }

    private static func newestEntry(for target: String, _ db: Database, store: String) throws -> SignedRevocationEntry?
    {
        try Row.fetchOne(
            db.cachedStatement(
                sql: "SELECT sequence, record FROM revocation_entries WHERE target = ? ORDER BY sequence DESC LIMIT 1"
            ),
            arguments: [target]
        ).map { try entry($0, store: store) }
    }

    private static func mark(_ kind: SignedFeedMark.Kind, _ db: Database, store: String) throws -> SignedFeedMark? {
        let label = kind == .head ? "head" : "floor"
        guard
            let row = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT sequence, record FROM revocation_marks WHERE kind = ?"),
                arguments: [label]
            )
        else { return nil }
        guard let bytes = row["record"] as Data? else {
            throw RevocationError(.malformed, "\(store): the \(label) row has no record")
        }
        let mark: SignedFeedMark
        do {
            mark = try SignedFeedMark(bytes: Array(bytes), kind: kind)
        } catch {
            throw RevocationError(.malformed, "\(store): the \(label) row: \(error.context)")
        }
        guard row["sequence"] == Int64(bitPattern: mark.sequence) else {
            throw RevocationError(.tampered, "\(store): the \(label) row's sequence is not its signed one")
        }
        return mark
    }

    private static func store(_ mark: SignedFeedMark, _ db: Database) throws {
        try db.cachedStatement(
            sql: """
                INSERT INTO revocation_marks (kind, sequence, record) VALUES (?, ?, ?)
                ON CONFLICT (kind) DO UPDATE SET sequence = excluded.sequence, record = excluded.record
                """
        ).execute(arguments: [
            mark.kind == .head ? "head" : "floor", Int64(bitPattern: mark.sequence), Data(mark.bytes),
        ])
    }

    /// The feed's tip, inside a write transaction, after checking that the store is not behind `minimum` (the tip
    /// the writer last saw) and that its signed head claims nothing the entries do not hold.
    private static func checkedTip(
        _ db: Database,
        minimum: RevocationFeedTip?,
        store: String
    ) throws -> RevocationFeedTip {
        let floor = try mark(.floor, db, store: store)
        let last = try Row.fetchOne(
            db.cachedStatement(sql: "SELECT sequence, record FROM revocation_entries ORDER BY sequence DESC LIMIT 1")
        ).map { try entry($0, store: store) }
        let tip =
            last.map { RevocationFeedTip(sequence: $0.sequence, hash: $0.hash) }
            ?? floor.map { RevocationFeedTip(sequence: $0.sequence, hash: $0.hash) } ?? .start
        if let floor, floor.sequence > tip.sequence {
            throw RevocationError(.tampered, "\(store): the floor at #\(floor.sequence) is after the last entry")
        }
        func hash(at sequence: UInt64) throws -> RevocationFeedHash? {
            if sequence == tip.sequence { return tip.hash }
            if let floor, sequence == floor.sequence { return floor.hash }
            return try entry(at: sequence, db, store: store)?.hash
        }
        if let head = try mark(.head, db, store: store) {
            if head.sequence > tip.sequence {
                throw RevocationError(
                    .tampered,
                    "\(store): entries end at #\(tip.sequence) but the signed head is at #\(head.sequence) (deleted or truncated)"
                )
            }
            if let there = try hash(at: head.sequence), there != head.hash {
                throw RevocationError(.tampered, "\(store): the signed head names another entry #\(head.sequence)")
            }
        }
        if let minimum {
            let there = try hash(at: minimum.sequence)
            if !tip.continues(minimum) || (there.map { $0 != minimum.hash } ?? false) {
                throw RevocationError(
                    .tampered,
                    "\(store) is at \(tip) but this authority already wrote \(minimum): the store was rolled back or forked"
                )
            }
        }
        return tip
    }

    /// Runs a transaction, turning SQLite's failures into `RevocationError`s that keep the ``SQLiteStoreError``.
    private func run<T: Sendable>(
        _ what: String,
        write: Bool = false,
        _ body: @escaping @Sendable (Database) throws -> T
    ) async throws -> T {
        do {
            return write ? try await database.write(what, body) : try await database.read(what, body)
        } catch let error as SQLiteStoreError {
            let code: RevocationError.Code = error.code == .corrupt ? .corruptStore : .storeUnavailable
            throw RevocationError(code, "\(what) in '\(database.path)': \(error.context)", underlying: error)
        }
    }
}
#endif
