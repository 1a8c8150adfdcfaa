#if Postgres
import Foundation
public import Logging
internal import PostgresNIO
public import ServiceLifecycle
import Synchronization

/// One Writ deployment's connection to PostgreSQL: a connection pool, the schema's migrations, and the LISTEN loop
/// that wakes revocation followers; a swift-service-lifecycle `Service`.
///
/// Run it (in a `ServiceGroup`, or `run()` in a task) before using a store made from it; a store's operations wait
/// for a pooled connection. ``migrate()`` creates or upgrades the schema. On graceful shutdown the LISTEN loop
/// stops, announcement streams finish, and the pool closes its connections.
///
/// **LISTEN and its fallback.** The loop holds one pooled connection listening on the schema's channel. Each
/// notification is only a wake-up hint (the payload is the feed's tip sequence, a few bytes, never data): followers
/// always read and verify the feed. When the listening connection drops, the loop polls the feed's counter row
/// every ``pollInterval`` and announces what changed, while it reconnects with exponential backoff (from
/// ``initialBackoff`` to ``maximumBackoff``); once listening again it announces the current tip, so nothing written
/// during the gap waits for a follower's own poll.
public final class WritPostgresService: Service, Sendable, CustomStringConvertible {
    /// The configuration (its description has no password).
    public let configuration: WritPostgresConfiguration
    /// How often the tip is polled while the LISTEN connection is down.
    public let pollInterval: Duration
    /// The first reconnect delay of the LISTEN loop.
    public let initialBackoff: Duration
    /// The longest reconnect delay of the LISTEN loop.
    public let maximumBackoff: Duration

    let client: PostgresClient
    let logger: Logger
    let announcer = TipAnnouncer()
    private let state = Mutex(ListenState())

    private struct ListenState {
        var listening = false
        var backendPID: Int32?
        var lastWrites: Int64?
        var reconnects = 0
    }

    /// The schema version this build of Writ creates and understands.
    public static let schemaVersion = Migrations.steps.count

    /// Creates the service (it connects once running).
    ///
    /// - Parameters:
    ///   - configuration: where to connect and which schema to use.
    ///   - pollInterval: how often to poll the tip while LISTEN is down.
    ///   - initialBackoff: the first delay before reconnecting LISTEN.
    ///   - maximumBackoff: the longest delay before reconnecting LISTEN.
    ///   - logger: where to log (silent by default).
    /// - Throws: ``PostgresStoreError`` with code `invalidConfiguration` (e.g. an unreadable root certificate).
    public init(
        configuration: WritPostgresConfiguration,
        pollInterval: Duration = .seconds(1),
        initialBackoff: Duration = .milliseconds(100),
        maximumBackoff: Duration = .seconds(5),
        logger: Logger = Logger(label: "writ.postgres", factory: { _ in SwiftLogNoOpLogHandler() })
    ) throws(PostgresStoreError) {
        self.configuration = configuration
        self.pollInterval = pollInterval
        self.initialBackoff = initialBackoff
        self.maximumBackoff = maximumBackoff
        self.logger = logger
        client = PostgresClient(configuration: try configuration.clientConfiguration(), backgroundLogger: logger)
    }

    /// `WritPostgresService(<configuration>)`.
    public var description: String { "WritPostgresService(\(configuration))" }

    var schema: String { configuration.schema }
    /// The schema-qualified name of a table (the schema name is validated, never raw input).
    func table(_ name: String) -> String { "\"\(configuration.schema)\".\(name)" }
    /// The NOTIFY channel of this deployment's feed.
    var channel: String { "writ_\(configuration.schema)" }

    // MARK: Service

    /// Runs the pool and the LISTEN loop until the task is cancelled or a graceful shutdown is triggered.
    public func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.client.run() }
            group.addTask {
                await cancelWhenGracefulShutdown {
                    await withTaskGroup(of: Void.self) { loops in
                        loops.addTask { await self.listenLoop() }
                        loops.addTask { await self.pollLoop() }
                        await loops.waitForAll()
                    }
                }
                // Graceful shutdown (or cancellation): stop followers' streams, then close the pool.
                self.announcer.finishAll()
            }
            await group.next()
            group.cancelAll()
        }
        announcer.finishAll()
    }

    // MARK: Schema

    /// Creates the schema and its tables, or upgrades them to ``schemaVersion``; safe to run from many processes
    /// at once (they take turns on an advisory lock).
    ///
    /// - Throws: ``PostgresStoreError`` with code `foreignSchema` when the schema holds tables Writ did not create,
    ///   `newerSchema` when a newer Writ migrated it, or `unreachable`, `authenticationFailed`, `databaseMissing`,
    ///   `tlsUnavailable`, `tlsUntrusted` when connecting fails.
    public func migrate() async throws(PostgresStoreError) {
        let schema = self.schema
        do {
            try await transaction { connection in
                try await connection.query(
                    "SELECT pg_advisory_xact_lock(hashtext(\("writ-migrate:" + schema)))",
                    logger: self.logger
                )
                try await connection.query(
                    "CREATE SCHEMA IF NOT EXISTS \(unescaped: "\"\(schema)\"")",
                    logger: self.logger
                )
                var current = 0
                let hasVersion =
                    try await connection.query(
                        "SELECT to_regclass(\("\"\(schema)\".writ_schema_version")) IS NOT NULL",
                        logger: self.logger
                    ).collect().first?.decode(Bool.self) ?? false
                if hasVersion {
                    let rows = try await connection.query(
                        "SELECT product, version FROM \(unescaped: self.table("writ_schema_version"))",
                        logger: self.logger
                    ).collect()
                    guard rows.count == 1, let (product, version) = try? rows[0].decode((String, Int32).self),
                        product == Migrations.product
                    else {
                        throw PostgresStoreError(
                            .foreignSchema,
                            "schema '\(schema)' has a version table that is not Writ's"
                        )
                    }
                    guard version <= Self.schemaVersion else {
                        throw PostgresStoreError(
                            .newerSchema,
                            "schema '\(schema)' is at version \(version), newer than this Writ's \(Self.schemaVersion)"
                        )
                    }
                    current = Int(version)
                } else {
                    let tables =
                        try await connection.query(
                            "SELECT count(*) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = \(schema)",
                            logger: self.logger
                        ).collect().first?.decode(Int64.self) ?? 0
                    guard tables == 0 else {
                        throw PostgresStoreError(
                            .foreignSchema,
                            "schema '\(schema)' holds \(tables) relations but no Writ version table: not Writ's"
                        )
                    }
                    try await connection.query(
                        "CREATE TABLE \(unescaped: self.table("writ_schema_version")) (product text NOT NULL, version integer NOT NULL)",
                        logger: self.logger
                    )
                    try await connection.query(
                        "INSERT INTO \(unescaped: self.table("writ_schema_version")) VALUES (\(Migrations.product), 0)",
                        logger: self.logger
                    )
                }
                for version in (current + 1)..<(Self.schemaVersion + 1) {
                    for statement in Migrations.steps[version - 1] {
                        let sql = statement.replacingOccurrences(of: "$SCHEMA", with: "\"\(schema)\"")
                        try await connection.query(PostgresQuery(unsafeSQL: sql), logger: self.logger)
                    }
                    try await connection.query(
                        "UPDATE \(unescaped: self.table("writ_schema_version")) SET version = \(Int32(version))",
                        logger: self.logger
                    )
                }
            }
        } catch {
            throw PostgresStoreError.classify(error, doing: "migrating schema '\(schema)'")
        }
    }

    // MARK: Queries

    /// Runs `body` on a pooled connection, giving up waiting for one after the configuration's `connectTimeout`.
    ///
    /// postgres-nio's pool keeps a request waiting while it cannot connect (for up to a minute); a store must
    /// answer sooner, so the wait is cancelled at the deadline and reported as `unreachable`. A body that already
    /// holds a connection is never abandoned: its real outcome is returned (a commit is never reported as failed).
    func withConnection<T: Sendable>(
        _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        let limit = configuration.connectTimeout
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await self.client.withConnection { try await body($0) } }
            group.addTask {
                try? await Task.sleep(for: limit)
                return nil
            }
            var timedOut = false
            while true {
                do {
                    guard let next = try await group.next() else { break }
                    if let value = next {
                        group.cancelAll()
                        return value
                    }
                    if Task.isCancelled { continue }
                    timedOut = true
                    group.cancelAll()
                } catch {
                    group.cancelAll()
                    if timedOut { throw await self.diagnose(after: limit) }
                    throw error
                }
            }
            throw PostgresStoreError(.unavailable, "the operation ended without a result")
        }
    }

    /// Why no pooled connection came within `limit`: one direct connection attempt names the cause (wrong
    /// credentials, a missing database, no TLS, nobody listening), or says the server answers but the pool is busy.
    ///
    /// The attempt is bounded by `connectTimeout` as a whole: postgres-nio's own connect timeout covers the TCP
    /// handshake only, so a server that accepts connections but never answers (hung, or a port that only queues
    /// connections) would otherwise keep the caller waiting forever.
    private func diagnose(after limit: Duration) async -> PostgresStoreError {
        let target = "\(configuration.host):\(configuration.port)"
        let configuration = self.configuration
        let logger = self.logger
        let outcome = await boundedWait(configuration.connectTimeout) { () async -> PostgresStoreError in
            do {
                let connection = try await PostgresConnection.connect(
                    on: PostgresClient.defaultEventLoopGroup.any(),
                    configuration: configuration.connectionConfiguration(),
                    id: 0,
                    logger: logger
                ).get()
                try? await connection.close()
                return PostgresStoreError(
                    .unreachable,
                    "no pooled connection to \(target) within \(limit), though the server answers (the pool is busy)"
                )
            } catch {
                return PostgresStoreError.classify(error, doing: "connecting to \(target)")
            }
        }
        return outcome
            ?? PostgresStoreError(
                .unreachable,
                "no answer from \(target) within \(configuration.connectTimeout) (connected, but the server does not speak)"
            )
    }

    /// Runs one statement on a pooled connection (bounded like ``withConnection(_:)``) and collects its rows.
    @discardableResult
    func query(_ query: PostgresQuery) async throws -> [PostgresRow] {
        try await withConnection { connection in
            try await connection.query(query, logger: self.logger).collect()
        }
    }

    /// Runs `body` in a transaction on a pooled connection; commits when it returns, rolls back when it throws.
    ///
    /// Errors thrown by `body` come out unchanged; postgres-nio's errors are postgres-nio's (callers classify).
    func transaction<T: Sendable>(
        readOnly: Bool = false,
        _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        try await withConnection { connection in
            try await connection.query(
                readOnly ? "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" : "BEGIN",
                logger: self.logger
            )
            let value: T
            do {
                value = try await body(connection)
            } catch {
                _ = try? await connection.query("ROLLBACK", logger: self.logger)
                throw error
            }
            try await connection.query("COMMIT", logger: self.logger)
            return value
        }
    }

    // MARK: LISTEN

    /// A stream of the feed's tip sequence, fed by LISTEN (and by polling while LISTEN is down).
    func announcements() -> AsyncStream<UInt64> { announcer.subscribe() }

    /// Whether the LISTEN connection is up (test support).
    @_spi(Testing)
    public var isListening: Bool { state.withLock { $0.listening } }

    /// The server process id of the LISTEN connection, while it is up (test support: terminating it simulates a
    /// network partition).
    @_spi(Testing)
    public var listenerBackendPID: Int32? { state.withLock { $0.listening ? $0.backendPID : nil } }

    /// How many times the LISTEN connection was (re)established (test support).
    @_spi(Testing)
    public var listenConnections: Int { state.withLock { $0.reconnects } }

    private func listenLoop() async {
        var backoff = initialBackoff
        while !Task.isCancelled {
            do {
                try await client.withConnection { connection in
                    let pid = try await connection.query("SELECT pg_backend_pid()", logger: self.logger)
                        .collect().first?.decode(Int32.self)
                    try await connection.listen(on: self.channel) { notifications in
                        self.state.withLock {
                            $0.listening = true
                            $0.backendPID = pid
                            $0.reconnects += 1
                        }
                        backoff = self.initialBackoff
                        await self.pollTip(force: true)  // what was written while nobody listened
                        for try await notification in notifications {
                            if let sequence = UInt64(notification.payload) { self.announcer.announce(sequence) }
                        }
                    }
                }
            } catch {
                logger.debug("LISTEN connection lost: \(String(reflecting: error))")
            }
            state.withLock {
                $0.listening = false
                $0.backendPID = nil
            }
            if Task.isCancelled { break }
            try? await Task.sleep(for: backoff)
            backoff = min(backoff * 2, maximumBackoff)
        }
    }

    private func pollLoop() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: pollInterval)
            if !state.withLock({ $0.listening }) { await pollTip(force: false) }
        }
    }

    /// Reads the counter row and announces the tip when the feed changed since the last poll (or always).
    private func pollTip(force: Bool) async {
        do {
            let row = try await query(
                "SELECT last_sequence, writes FROM \(unescaped: table("feed_counter")) WHERE id = 1"
            ).first
            guard let (sequence, writes) = try row?.decode((Int64, Int64).self) else { return }
            let changed = state.withLock { state in
                defer { state.lastWrites = writes }
                return state.lastWrites != writes
            }
            if changed || force, let tip = UInt64(exactly: sequence) { announcer.announce(tip) }
        } catch {
            logger.debug("polling the feed tip failed: \(String(reflecting: error))")
        }
    }
}

/// Runs `operation` and returns its value, or `nil` once `limit` has passed without one; the caller never waits
/// longer than `limit` (or its own cancellation), even for an operation that ignores cancellation (a postgres-nio
/// connect future): that one is cancelled and left to finish on its own, its late value dropped.
func boundedWait<T: Sendable>(
    _ limit: Duration,
    _ operation: @escaping @Sendable () async -> T
) async -> T? {
    let race = BoundedWait<T>()
    return await withTaskCancellationHandler {
        await withCheckedContinuation { continuation in
            // The continuation is in place before anything can finish, so no value is lost.
            guard race.start(continuation) else {
                continuation.resume(returning: nil)
                return
            }
            race.add(Task { race.finish(await operation()) })
            race.add(
                Task {
                    try? await Task.sleep(for: limit)
                    race.finish(nil)
                }
            )
        }
    } onCancel: {
        race.finish(nil)
    }
}

/// The race of ``boundedWait(_:_:)``: the caller's continuation, resumed once by whichever finishes first (the
/// operation, the timer, or the caller's cancellation), which then cancels the other tasks.
final class BoundedWait<T: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<T?, Never>?
        var tasks: [Task<Void, Never>] = []
        var done = false
    }
    private let state = Mutex(State())

    /// Keeps the continuation; `false` when the race is already over (the caller was cancelled).
    func start(_ continuation: CheckedContinuation<T?, Never>) -> Bool {
        state.withLock { state in
            guard !state.done else { return false }
            state.continuation = continuation
            return true
        }
    }

    /// Keeps a task to cancel at the end, or cancels it at once when the race is over.
    func add(_ task: Task<Void, Never>) {
        let over = state.withLock { state in
            if !state.done { state.tasks.append(task) }
            return state.done
        }
        if over { task.cancel() }
    }

    /// Ends the race with `value` (the first call wins; later ones do nothing).
    func finish(_ value: T?) {
        let (continuation, tasks) = state.withLock { state -> (CheckedContinuation<T?, Never>?, [Task<Void, Never>]) in
            guard !state.done else { return (nil, []) }
            defer { state = State(continuation: nil, tasks: [], done: true) }
            return (state.continuation, state.tasks)
        }
        for task in tasks { task.cancel() }
        continuation?.resume(returning: value)
    }
}

/// Hands every subscriber the newest announced tip (a wake-up hint, never data).
final class TipAnnouncer: Sendable {
    private let subscribers = Mutex<(next: UInt64, finished: Bool, all: [UInt64: AsyncStream<UInt64>.Continuation])>(
        (0, false, [:])
    )

    func subscribe() -> AsyncStream<UInt64> {
        let (stream, continuation) = AsyncStream<UInt64>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let id: UInt64? = subscribers.withLock { state in
            guard !state.finished else { return nil }
            state.next += 1
            state.all[state.next] = continuation
            return state.next
        }
        guard let id else {
            continuation.finish()
            return stream
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.subscribers.withLock { $0.all.removeValue(forKey: id) }
        }
        return stream
    }

    func announce(_ sequence: UInt64) {
        for continuation in subscribers.withLock({ Array($0.all.values) }) { continuation.yield(sequence) }
    }

    func finishAll() {
        let all = subscribers.withLock { state in
            state.finished = true
            defer { state.all = [:] }
            return Array(state.all.values)
        }
        for continuation in all { continuation.finish() }
    }
}

/// The schema's migrations: step N brings the schema from version N-1 to N. `$SCHEMA` is the quoted schema name.
enum Migrations {
    static let product = "writ"

    static let steps: [[String]] = [
        // 1: the signed revocation feed (one counter row serialises writers), watermark reports, nonces.
        [
            """
            CREATE TABLE $SCHEMA.feed_counter (
                id integer PRIMARY KEY CHECK (id = 1),
                last_sequence bigint NOT NULL CHECK (last_sequence >= 0),
                writes bigint NOT NULL)
            """,
            "INSERT INTO $SCHEMA.feed_counter VALUES (1, 0, 0)",
            """
            CREATE TABLE $SCHEMA.feed_entries (
                sequence bigint PRIMARY KEY CHECK (sequence > 0),
                target text NOT NULL,
                covers_until bigint NOT NULL,
                record bytea NOT NULL)
            """,
            "CREATE INDEX feed_entries_target ON $SCHEMA.feed_entries (target, sequence)",
            """
            CREATE TABLE $SCHEMA.feed_marks (
                kind text PRIMARY KEY CHECK (kind IN ('head', 'floor')),
                record bytea NOT NULL)
            """,
            """
            CREATE TABLE $SCHEMA.feed_watermarks (
                verifier text PRIMARY KEY,
                recorded_at bigint NOT NULL,
                record bytea NOT NULL)
            """,
            """
            CREATE TABLE $SCHEMA.nonces (
                nonce bytea PRIMARY KEY,
                expires_at bigint NOT NULL)
            """,
            "CREATE INDEX nonces_expiry ON $SCHEMA.nonces (expires_at)",
        ],
        // 2: the authority's versioned records (compare-and-swap on `version`).
        [
            """
            CREATE TABLE $SCHEMA.authority_records (
                key text PRIMARY KEY,
                kind text NOT NULL,
                version bigint NOT NULL CHECK (version > 0),
                parent text,
                due bigint,
                open boolean NOT NULL,
                body bytea NOT NULL)
            """,
            "CREATE INDEX authority_records_parent ON $SCHEMA.authority_records (kind, parent)",
            "CREATE INDEX authority_records_due ON $SCHEMA.authority_records (kind, due)",
        ],
        // 3: audit logs (entries by log and index; each log's head: size, signed checkpoint, frontier).
        [
            """
            CREATE TABLE $SCHEMA.audit_entries (
                log text NOT NULL,
                index bigint NOT NULL CHECK (index >= 0),
                entry bytea NOT NULL,
                PRIMARY KEY (log, index))
            """,
            """
            CREATE TABLE $SCHEMA.audit_heads (
                log text PRIMARY KEY,
                size bigint NOT NULL CHECK (size >= 0),
                checkpoint text NOT NULL,
                frontier bytea NOT NULL)
            """,
        ],
    ]
}
#endif
