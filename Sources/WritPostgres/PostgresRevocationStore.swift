#if Postgres
import Foundation
internal import PostgresNIO
public import WritCrypto
public import WritRevocation

/// A ``RevocationStore`` in PostgreSQL, shared by every authority replica and every verifier of one deployment.
///
/// **Serialising step.** Every write is one transaction that first locks the schema's single counter row
/// (`SELECT … FOR UPDATE`): it reads the tip there, checks the writer's `minimum`, assigns the next sequences,
/// links each entry to the previous entry's hash, asks the signer for the signature, inserts the entries and
/// updates the counter row, all before committing. Sequences never come from a `bigserial` (which hands out
/// numbers that can commit out of order, letting a verifier move its watermark past an entry it cannot see yet);
/// a second transaction waits on the row lock, so entries become visible in sequence order.
///
/// **Records.** Entries, the head and the floor are stored as the signed bytes (`bytea`). The store checks no
/// signature: followers verify everything they read, so whoever can write the tables can delete or roll back
/// records (and followers go stale and fail closed) but cannot forge one.
///
/// **Announcements.** Each write sends `pg_notify(channel, tip)` inside its transaction, which PostgreSQL
/// delivers only once it commits: a wake-up hint to every ``WritPostgresService`` listening, never data.
/// ``announcements()`` streams the hints of the service's LISTEN loop (which polls while LISTEN is down).
public final class PostgresRevocationStore: RevocationStore {
    /// The service whose pool and schema this store uses.
    public let service: WritPostgresService

    /// A store on `service`'s schema (run ``WritPostgresService/migrate()`` once first).
    public init(service: WritPostgresService) {
        self.service = service
    }

    private var name: String { "the feed in schema '\(service.schema)'" }

    public func append(
        _ revocations: [RevocationRequest],
        signer: some Signer,
        minimum: RevocationFeedTip?
    ) async throws -> [SignedRevocationEntry] {
        for request in revocations { try request.target.validate() }
        guard !revocations.isEmpty else { return [] }
        let entries = try await write("revoking", minimum: minimum) { connection, tip in
            var tip = tip
            var all: [SignedRevocationEntry] = []
            var added = false
            for request in revocations {
                let key = request.target.description
                let newest = try await connection.query(
                    "SELECT record FROM \(unescaped: self.service.table("feed_entries")) WHERE target = \(key) ORDER BY sequence DESC LIMIT 1",
                    logger: self.service.logger
                ).collect().first?.decode(Data.self)
                if let newest {
                    let existing = try SignedRevocationEntry(bytes: Array(newest))
                    if existing.entry.reason == request.reason, existing.entry.coversUntil >= request.coversUntil {
                        all.append(existing)
                        continue
                    }
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
                try await connection.query(
                    "INSERT INTO \(unescaped: self.service.table("feed_entries")) (sequence, target, covers_until, record) VALUES (\(try Self.int64(entry.sequence)), \(key), \(request.coversUntil.millisecondsSinceEpoch), \(Data(entry.bytes)))",
                    logger: self.service.logger
                )
                tip = RevocationFeedTip(sequence: entry.sequence, hash: entry.hash)
                all.append(entry)
                added = true
            }
            return (all, added ? tip.sequence : nil)
        }
        return entries
    }

    public func publishHead(
        at time: Timestamp,
        signer: some Signer,
        minimum: RevocationFeedTip?
    ) async throws -> SignedFeedMark {
        try await write("publishing a head", minimum: minimum) { connection, tip in
            let head = try SignedFeedMark(
                signing: .head,
                sequence: tip.sequence,
                hash: tip.hash,
                issuedAt: time,
                signer: signer
            )
            try await self.storeMark(head, connection)
            return (head, tip.sequence)
        }
    }

    public func page(after sequence: UInt64, limit: Int) async throws -> RevocationFeedPage {
        guard limit > 0 else { throw RevocationError(.invalidArgument, "page limit must be at least 1, got \(limit)") }
        let after = Int64(clamping: sequence)
        do {
            // One statement, so one snapshot (the head is never newer than the entries read with it) and one round
            // trip: a follower woken by NOTIFY reads its page with a single query, not a four-statement transaction.
            let rows = try await service.query(
                "SELECT 0 AS part, 0::bigint AS sequence, kind, record FROM \(unescaped: service.table("feed_marks")) UNION ALL (SELECT 1, sequence, NULL, record FROM \(unescaped: service.table("feed_entries")) WHERE sequence > \(after) ORDER BY sequence LIMIT \(Int64(limit))) ORDER BY part, sequence"
            )
            var head: SignedFeedMark?
            var floor: SignedFeedMark?
            var entries: [SignedRevocationEntry] = []
            for row in rows {
                let (part, _, kind, record) = try row.decode((Int32, Int64, String?, Data).self)
                guard part == 0 else {
                    entries.append(try SignedRevocationEntry(bytes: Array(record)))
                    continue
                }
                switch kind {
                case "head": head = try SignedFeedMark(bytes: Array(record), kind: .head)
                case "floor": floor = try SignedFeedMark(bytes: Array(record), kind: .floor)
                default:
                    throw RevocationError(.malformed, "\(name): unknown mark kind '\((kind ?? "").prefix(32))'")
                }
            }
            let showFloor = floor.map { sequence < $0.sequence } ?? false
            return RevocationFeedPage(floor: showFloor ? floor : nil, entries: entries, head: head)
        } catch {
            throw Self.map(error, doing: "reading \(name)")
        }
    }

    @discardableResult
    public func prune(expiredBefore time: Timestamp, at now: Timestamp, signer: some Signer) async throws -> Int {
        try await write("pruning", minimum: nil) { connection, tip in
            let entries = self.service.table("feed_entries")
            let keep = try await connection.query(
                "SELECT min(sequence) FROM \(unescaped: entries) WHERE covers_until >= \(time.millisecondsSinceEpoch)",
                logger: self.service.logger
            ).collect().first?.decode(Int64?.self)
            let bound = keep ?? Int64.max
            let last = try await connection.query(
                "SELECT sequence, record FROM \(unescaped: entries) WHERE sequence < \(bound) ORDER BY sequence DESC LIMIT 1",
                logger: self.service.logger
            ).collect().first?.decode((Int64, Data).self)
            guard let (lastSequence, record) = last else { return (0, nil) }
            let removed = try SignedRevocationEntry(bytes: Array(record))
            let floor = try SignedFeedMark(
                signing: .floor,
                sequence: removed.sequence,
                hash: removed.hash,
                issuedAt: now,
                signer: signer
            )
            let count =
                try await connection.query(
                    "WITH gone AS (DELETE FROM \(unescaped: entries) WHERE sequence <= \(lastSequence) RETURNING 1) SELECT count(*) FROM gone",
                    logger: self.service.logger
                ).collect().first?.decode(Int64.self) ?? 0
            try await self.storeMark(floor, connection)
            return (Int(count), nil)
        }
    }

    /// Streams the tip announced by the service's LISTEN loop (NOTIFY from every process writing this feed, and
    /// polling while LISTEN is down). The stream ends when the service shuts down.
    public func announcements() -> AsyncStream<UInt64>? { service.announcements() }

    // MARK: The serialising step

    /// Runs `body` in a transaction holding the counter row's lock, with the current tip, after checking
    /// `minimum`; stores the new tip and notifies when `body` returns one.
    private func write<T: Sendable>(
        _ what: String,
        minimum: RevocationFeedTip?,
        _ body: @escaping @Sendable (PostgresConnection, RevocationFeedTip) async throws -> (T, UInt64?)
    ) async throws -> T {
        let counter = service.table("feed_counter")
        let result: (T, UInt64?)
        do {
            result = try await service.transaction { connection in
                let last = try await connection.query(
                    "SELECT last_sequence FROM \(unescaped: counter) WHERE id = 1 FOR UPDATE",
                    logger: self.service.logger
                ).collect().first?.decode(Int64.self)
                guard let last, let lastSequence = UInt64(exactly: last) else {
                    throw RevocationError(.tampered, "\(self.name): the counter row is missing")
                }
                let tip = try await self.tip(at: lastSequence, connection)
                if let minimum { try await self.check(minimum, tip: tip, connection) }
                let (value, newTip) = try await body(connection, tip)
                if let newTip {
                    try await connection.query(
                        "UPDATE \(unescaped: counter) SET last_sequence = \(try Self.int64(newTip)), writes = writes + 1 WHERE id = 1",
                        logger: self.service.logger
                    )
                } else {
                    try await connection.query(
                        "UPDATE \(unescaped: counter) SET writes = writes + 1 WHERE id = 1",
                        logger: self.service.logger
                    )
                }
                let announced = newTip ?? lastSequence
                try await connection.query(
                    "SELECT pg_notify(\(self.service.channel), \(String(announced)))",
                    logger: self.service.logger
                )
                return (value, newTip)
            }
        } catch {
            throw Self.map(error, doing: "\(what) in \(name)")
        }
        if let tip = result.1 { service.announcer.announce(tip) }
        return result.0
    }

    /// The tip the counter row names: the entry there, or the floor when everything up to it was pruned.
    private func tip(at sequence: UInt64, _ connection: PostgresConnection) async throws -> RevocationFeedTip {
        guard sequence > 0 else { return .start }
        if let record = try await connection.query(
            "SELECT record FROM \(unescaped: service.table("feed_entries")) WHERE sequence = \(try Self.int64(sequence))",
            logger: service.logger
        ).collect().first?.decode(Data.self) {
            let entry = try SignedRevocationEntry(bytes: Array(record))
            guard entry.sequence == sequence else {
                throw RevocationError(.tampered, "\(name): the row of #\(sequence) holds entry #\(entry.sequence)")
            }
            return RevocationFeedTip(sequence: sequence, hash: entry.hash)
        }
        if let record = try await connection.query(
            "SELECT record FROM \(unescaped: service.table("feed_marks")) WHERE kind = 'floor'",
            logger: service.logger
        ).collect().first?.decode(Data.self) {
            let floor = try SignedFeedMark(bytes: Array(record), kind: .floor)
            if floor.sequence == sequence { return RevocationFeedTip(sequence: sequence, hash: floor.hash) }
        }
        throw RevocationError(.tampered, "\(name): the counter is at #\(sequence) but no entry or floor holds it")
    }

    /// Refuses to write on a feed behind what the writer already wrote (rolled back or forked).
    private func check(
        _ minimum: RevocationFeedTip,
        tip: RevocationFeedTip,
        _ connection: PostgresConnection
    ) async throws {
        var there: RevocationFeedHash?
        if minimum.sequence == tip.sequence {
            there = tip.hash
        } else if minimum.sequence < tip.sequence, minimum.sequence > 0 {
            if let record = try await connection.query(
                "SELECT record FROM \(unescaped: service.table("feed_entries")) WHERE sequence = \(try Self.int64(minimum.sequence))",
                logger: service.logger
            ).collect().first?.decode(Data.self) {
                there = try SignedRevocationEntry(bytes: Array(record)).hash
            }
        }
        guard !tip.continues(minimum) || (there.map { $0 != minimum.hash } ?? false) else { return }
        throw RevocationError(
            .tampered,
            "\(name) is at \(tip) but this authority already wrote \(minimum): the store was rolled back or forked"
        )
    }

    private func storeMark(_ mark: SignedFeedMark, _ connection: PostgresConnection) async throws {
        let kind = mark.kind == .head ? "head" : "floor"
        try await connection.query(
            "INSERT INTO \(unescaped: service.table("feed_marks")) (kind, record) VALUES (\(kind), \(Data(mark.bytes))) ON CONFLICT (kind) DO UPDATE SET record = EXCLUDED.record",
            logger: service.logger
        )
    }

    static func int64(_ value: UInt64) throws(RevocationError) -> Int64 {
        guard let value = Int64(exactly: value) else {
            throw RevocationError(.invalidArgument, "sequence \(value) does not fit a bigint")
        }
        return value
    }

    /// A ``RevocationError`` as is; anything else as `storeUnavailable` keeping the classified cause.
    static func map(_ error: any Error, doing what: String) -> RevocationError {
        if let error = error as? RevocationError { return error }
        let cause = PostgresStoreError.classify(error, doing: what)
        return RevocationError(.storeUnavailable, cause.description, underlying: cause)
    }
}

/// A ``WatermarkStore`` in PostgreSQL: one row per verifier with its latest signed report, as the signed bytes.
public final class PostgresWatermarkStore: WatermarkStore {
    /// The service whose pool and schema this store uses.
    public let service: WritPostgresService

    /// A store on `service`'s schema (run ``WritPostgresService/migrate()`` once first).
    public init(service: WritPostgresService) {
        self.service = service
    }

    public func record(_ report: WatermarkReport) async throws {
        do {
            try await service.query(
                "INSERT INTO \(unescaped: service.table("feed_watermarks")) (verifier, recorded_at, record) VALUES (\(report.verifier), \(report.recordedAt.millisecondsSinceEpoch), \(Data(report.bytes))) ON CONFLICT (verifier) DO UPDATE SET recorded_at = EXCLUDED.recorded_at, record = EXCLUDED.record WHERE feed_watermarks.recorded_at <= EXCLUDED.recorded_at"
            )
        } catch {
            throw PostgresRevocationStore.map(error, doing: "recording \(report)")
        }
    }

    public func reports() async throws -> [WatermarkReport] {
        var reports: [WatermarkReport] = []
        do {
            let rows = try await service.query(
                "SELECT verifier, record FROM \(unescaped: service.table("feed_watermarks"))"
            )
            for row in rows {
                let (verifier, record) = try row.decode((String, Data).self)
                do {
                    reports.append(try WatermarkReport(bytes: Array(record)))
                } catch {
                    throw RevocationError(
                        .malformed,
                        "the watermark report of '\(verifier.prefix(64))': \(error.context)"
                    )
                }
            }
        } catch {
            throw PostgresRevocationStore.map(error, doing: "reading watermark reports")
        }
        return reports.sorted { $0.verifier < $1.verifier }
    }

    public func removeVerifier(_ verifier: String) async throws {
        do {
            try await service.query(
                "DELETE FROM \(unescaped: service.table("feed_watermarks")) WHERE verifier = \(verifier)"
            )
        } catch {
            throw PostgresRevocationStore.map(error, doing: "removing verifier '\(verifier.prefix(64))'")
        }
    }
}
#endif
