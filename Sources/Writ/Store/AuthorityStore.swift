public import WritCrypto
public import WritIdentity

/// Where a ``CredentialAuthority`` keeps everything it must remember across restarts and share with its
/// replicas: agents, tasks, steps, outstanding join tokens and anomaly memory, as versioned records.
///
/// Every record carries a `version`: ``insert(_:)`` stores version 1 and fails with
/// ``AuthorityStoreError/Code/conflict`` when the key exists; ``update(_:expecting:)`` is compare-and-swap — it
/// stores the record as version `expecting + 1` only if the stored version is still `expecting`, and otherwise
/// fails with ``AuthorityStoreError/Code/conflict``. An authority reads, computes and updates expecting what it
/// read; on conflict it reads again. So two authority replicas over one store never lose an update, never issue
/// two live tokens for one step and never both consume one join token.
///
/// The contract is a runnable suite, `AuthorityStoreConformance` in WritTesting; ``InMemoryAuthorityStore`` is
/// the in-process implementation. Conveniences (typed reads, join tokens) are extensions over these five
/// requirements.
public protocol AuthorityStore: JoinTokenStore {
    /// The record stored under `key`, or `nil`.
    func record(for key: AuthorityRecordKey) async throws -> AuthorityRecord?

    /// Stores a new record as version 1 and returns it as stored.
    ///
    /// - Throws: ``AuthorityStoreError/Code/conflict`` when a record with the same key exists.
    @discardableResult
    func insert(_ record: AuthorityRecord) async throws -> AuthorityRecord

    /// Replaces the record with the same key, if its stored version is `expecting`, storing `expecting + 1`.
    ///
    /// The `version` inside `record` is ignored. Returns the record as stored.
    /// - Throws: ``AuthorityStoreError/Code/conflict`` when the stored version differs;
    ///   ``AuthorityStoreError/Code/notFound`` when no record has the key.
    @discardableResult
    func update(_ record: AuthorityRecord, expecting version: UInt64) async throws -> AuthorityRecord

    /// Removes the record under `key` if its stored version is `expecting`.
    ///
    /// - Throws: ``AuthorityStoreError/Code/conflict`` when the stored version differs;
    ///   ``AuthorityStoreError/Code/notFound`` when no record has the key.
    func delete(_ key: AuthorityRecordKey, expecting version: UInt64) async throws

    /// The records a query selects, ordered by key.
    func records(matching query: AuthorityQuery) async throws -> [AuthorityRecord]
}

/// The key of one record in an ``AuthorityStore``.
public enum AuthorityRecordKey: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// An agent, by identity.
    case agent(AgentIdentity)
    /// A task, by id.
    case task(String)
    /// A step, by task id and step name.
    case step(task: String, name: String)
    /// An outstanding join token, by the hex digest of its secret.
    case joinToken(digest: String)
    /// Anomaly memory, by token id.
    case anomaly(tokenID: String)

    /// The key's stable text form (`agent:…`, `task:…`, `step:<task>/<name>`, `join:…`, `anomaly:…`).
    public var description: String {
        switch self {
        case .agent(let identity): "agent:\(identity)"
        case .task(let id): "task:\(id)"
        case .step(let task, let name): "step:\(task)/\(name)"
        case .joinToken(let digest): "join:\(digest)"
        case .anomaly(let tokenID): "anomaly:\(tokenID)"
        }
    }

    /// Keys order by their text form.
    public static func < (lhs: AuthorityRecordKey, rhs: AuthorityRecordKey) -> Bool {
        lhs.description < rhs.description
    }
}

/// One record of an ``AuthorityStore``.
public enum AuthorityRecord: Hashable, Sendable {
    /// An agent.
    case agent(AgentRecord)
    /// A task.
    case task(TaskRecord)
    /// A step of a task.
    case step(StepRecord)
    /// An outstanding join token.
    case joinToken(JoinTokenRecord)
    /// A token that already had an anomaly.
    case anomaly(AnomalyRecord)

    /// The record's key.
    public var key: AuthorityRecordKey {
        switch self {
        case .agent(let r): .agent(r.identity)
        case .task(let r): .task(r.id)
        case .step(let r): .step(task: r.taskID, name: r.name)
        case .joinToken(let r): .joinToken(digest: r.digest)
        case .anomaly(let r): .anomaly(tokenID: r.tokenID)
        }
    }

    /// The record's version.
    public var version: UInt64 {
        switch self {
        case .agent(let r): r.version
        case .task(let r): r.version
        case .step(let r): r.version
        case .joinToken(let r): r.version
        case .anomaly(let r): r.version
        }
    }

    /// The same record with another version (what a store does when it writes).
    public func withVersion(_ version: UInt64) -> AuthorityRecord {
        switch self {
        case .agent(var r):
            r.version = version
            return .agent(r)
        case .task(var r):
            r.version = version
            return .task(r)
        case .step(var r):
            r.version = version
            return .step(r)
        case .joinToken(var r):
            r.version = version
            return .joinToken(r)
        case .anomaly(var r):
            r.version = version
            return .anomaly(r)
        }
    }

    /// The agent record, if this is one.
    public var agent: AgentRecord? { if case .agent(let r) = self { r } else { nil } }
    /// The task record, if this is one.
    public var task: TaskRecord? { if case .task(let r) = self { r } else { nil } }
    /// The step record, if this is one.
    public var step: StepRecord? { if case .step(let r) = self { r } else { nil } }
    /// The join-token record, if this is one.
    public var joinToken: JoinTokenRecord? { if case .joinToken(let r) = self { r } else { nil } }
    /// The anomaly record, if this is one.
    public var anomaly: AnomalyRecord? { if case .anomaly(let r) = self { r } else { nil } }
}

/// What ``AuthorityStore/records(matching:)`` selects.
public enum AuthorityQuery: Hashable, Sendable {
    /// Open tasks whose deadline is at or before the time (the deadline watchdog).
    case openTasks(dueBy: Timestamp)
    /// Every task of an agent.
    case tasks(of: AgentIdentity)
    /// Every step of a task.
    case steps(ofTask: String)
    /// Outstanding join tokens: all of them (`nil`), or those expired at the time.
    case joinTokens(expiredBy: Timestamp?)

    /// Whether `record` is selected.
    public func matches(_ record: AuthorityRecord) -> Bool {
        switch (self, record) {
        case (.openTasks(let time), .task(let task)): task.state == .open && task.deadline <= time
        case (.tasks(let agent), .task(let task)): task.agent == agent
        case (.steps(let id), .step(let step)): step.taskID == id
        case (.joinTokens(let time), .joinToken(let token)): time.map { token.expiresAt <= $0 } ?? true
        default: false
        }
    }
}

/// An error raised by an ``AuthorityStore``.
///
/// Errors compare by ``code``; ``context`` names the record; ``underlying`` keeps the backend's own error.
public struct AuthorityStoreError: WritError {
    /// What went wrong. New codes may be added.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String {
            case conflict
            case notFound = "not-found"
            case unavailable
            case corrupt
        }

        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// The key exists (insert), or its version is not the one expected (update, delete).
        public static let conflict = Code(.conflict)
        /// No record has the key (update, delete).
        public static let notFound = Code(.notFound)
        /// The backend could not be reached or refused the operation.
        public static let unavailable = Code(.unavailable)
        /// A stored record could not be decoded.
        public static let corrupt = Code(.corrupt)

        public var description: String { value.rawValue }
    }

    /// What went wrong.
    public let code: Code
    /// What failed, naming the record (never secret bytes).
    public let context: String
    /// The backend's own error, if any.
    public let underlying: (any Error)?

    /// Creates an error.
    public init(_ code: Code, _ context: String, underlying: (any Error)? = nil) {
        self.code = code
        self.context = context
        self.underlying = underlying
    }

    /// A version conflict on `key`.
    public static func conflict(_ key: AuthorityRecordKey, expected: UInt64?, found: UInt64?) -> AuthorityStoreError {
        AuthorityStoreError(
            .conflict,
            "\(key): expected version \(expected.map(String.init) ?? "none"), found \(found.map(String.init) ?? "none")"
        )
    }
}

// MARK: Conveniences

extension AuthorityStore {
    /// The agent record for `identity`.
    public func agent(_ identity: AgentIdentity) async throws -> AgentRecord? {
        try await record(for: .agent(identity))?.agent
    }

    /// The task record with this id.
    public func task(_ id: String) async throws -> TaskRecord? { try await record(for: .task(id))?.task }

    /// The step record of `task` named `name`.
    public func step(task: String, name: String) async throws -> StepRecord? {
        try await record(for: .step(task: task, name: name))?.step
    }

    /// The steps of a task, ordered by name.
    public func steps(ofTask id: String) async throws -> [StepRecord] {
        try await records(matching: .steps(ofTask: id)).compactMap(\.step)
    }

    /// Open tasks whose deadline is at or before `time`, ordered by id.
    public func openTasks(dueBy time: Timestamp) async throws -> [TaskRecord] {
        try await records(matching: .openTasks(dueBy: time)).compactMap(\.task)
    }

    /// Every task of `agent`, ordered by id.
    public func tasks(of agent: AgentIdentity) async throws -> [TaskRecord] {
        try await records(matching: .tasks(of: agent)).compactMap(\.task)
    }

    /// Whether `key` is stored.
    public func contains(_ key: AuthorityRecordKey) async throws -> Bool { try await record(for: key) != nil }
}

// MARK: Join tokens over the records

extension AuthorityStore {
    /// Inserts the token as a ``AuthorityRecord/joinToken(_:)`` record.
    public func insertJoinToken(_ record: JoinTokenRecord) async throws {
        try await insert(.joinToken(record))
    }

    /// Reads the token's record and deletes it expecting the version read: of any number of racing callers
    /// (through any number of handles), exactly one deletes it and gets the record.
    public func consumeJoinToken(digest: String) async throws -> JoinTokenRecord? {
        let key = AuthorityRecordKey.joinToken(digest: digest)
        guard let stored = try await record(for: key)?.joinToken else { return nil }
        do {
            try await delete(key, expecting: stored.version)
        } catch let error as AuthorityStoreError where error.code == .conflict || error.code == .notFound {
            return nil
        }
        return stored
    }

    /// Every outstanding join token, ordered by digest.
    public func outstandingJoinTokens() async throws -> [JoinTokenRecord] {
        try await records(matching: .joinTokens(expiredBy: nil)).compactMap(\.joinToken)
    }

    /// Deletes every join token expired at `time` (a token consumed meanwhile is skipped).
    @discardableResult
    public func pruneJoinTokens(expiredAt time: Timestamp) async throws -> Int {
        var removed = 0
        for token in try await records(matching: .joinTokens(expiredBy: time)).compactMap(\.joinToken) {
            do {
                try await delete(.joinToken(digest: token.digest), expecting: token.version)
                removed += 1
            } catch let error as AuthorityStoreError where error.code == .conflict || error.code == .notFound {
                continue
            }
        }
        return removed
    }
}
