import Foundation
public import Writ
import WritCrypto
import WritIdentity
import WritTokens

/// The contract every ``AuthorityStore`` implementation must keep, as runnable checks — including what two
/// handles on one backing store (two authority replicas) must agree on.
///
/// Each backend's tests run every check against a fresh store:
/// ```swift
/// @Test("store keeps the contract", arguments: AuthorityStoreConformance.Check.allCases)
/// func conformance(_ check: AuthorityStoreConformance.Check) async throws {
///     try await AuthorityStoreConformance(
///         makeStore: { InMemoryAuthorityStore() },
///         reopen: { $0 },
///         openPeer: { $0 }
///     ).run(check)
/// }
/// ```
/// `reopen` closes the handle and opens the same backing data again, as a restarted process would; `openPeer`
/// opens a second handle on the same backing data while the first stays open, as a second process would (for
/// an in-memory store both return the same instance). A failed check throws ``Failure`` naming the check and
/// what was wrong. The suite does not depend on a test framework.
public struct AuthorityStoreConformance: Sendable {
    /// One property of the store contract.
    public enum Check: String, CaseIterable, Sendable, CustomStringConvertible {
        /// Every record kind is stored as version 1 and read back intact; an absent key reads as `nil`.
        case insertThenRead
        /// Inserting a key that exists fails with `conflict` and changes nothing.
        case insertExistingKeyConflicts
        /// `update(expecting:)` stores `expecting + 1` only when the version matches; otherwise `conflict`
        /// (or `notFound`) and nothing changes.
        case updateIsCompareAndSwap
        /// `delete(expecting:)` removes only the expected version.
        case deleteIsCompareAndSwap
        /// The watchdog, agent, step and join-token queries select exactly their records, ordered by key.
        case queriesSelectTheirRecords
        /// Records read from the store encode to JSON with the stable field names and decode equal.
        case recordsRoundTripThroughJSON
        /// A reopened store holds every record at the same version, and compare-and-swap continues from it.
        case reopenKeepsRecordsAndVersions
        /// A second handle sees the first's writes and the first sees the second's.
        case peerHandlesShareRecords
        /// An update through one handle makes a stale update through the other conflict.
        case conflictsDetectedAcrossHandles
        /// Two handles racing to insert one key: exactly one succeeds.
        case concurrentInsertsOneWins
        /// Each join token is consumed exactly once when many consumers race through two handles.
        case joinTokenConsumedOnceAcrossHandles
        /// Concurrent read-modify-CAS loops through two handles never lose an update.
        case concurrentUpdatesNeverLost

        /// The check's name.
        public var description: String { rawValue }
    }

    /// A failed check.
    public struct Failure: Error, CustomStringConvertible {
        /// The check that failed.
        public let check: Check
        /// What was wrong.
        public let detail: String

        /// `check: detail`.
        public var description: String { "\(check): \(detail)" }
    }

    private let makeStore: @Sendable () async throws -> any AuthorityStore
    private let reopen: @Sendable (any AuthorityStore) async throws -> any AuthorityStore
    private let openPeer: @Sendable (any AuthorityStore) async throws -> any AuthorityStore

    /// Creates the suite.
    ///
    /// - Parameters:
    ///   - makeStore: returns a new, empty store each time it is called.
    ///   - reopen: closes the handle and opens its backing data again (a restart).
    ///   - openPeer: opens another handle on the same backing data (another process).
    public init(
        makeStore: @escaping @Sendable () async throws -> any AuthorityStore,
        reopen: @escaping @Sendable (any AuthorityStore) async throws -> any AuthorityStore,
        openPeer: @escaping @Sendable (any AuthorityStore) async throws -> any AuthorityStore
    ) {
        self.makeStore = makeStore
        self.reopen = reopen
        self.openPeer = openPeer
    }

    /// Runs every check, stopping at the first failure.
    public func runAll() async throws {
        for check in Check.allCases { try await run(check) }
    }

    /// Runs one check against a fresh store.
    ///
    /// - Throws: ``Failure`` when the store breaks the contract, or whatever the store throws unexpectedly.
    public func run(_ check: Check) async throws {
        let context = try Context(check: check, store: try await makeStore(), suite: self)
        switch check {
        case .insertThenRead: try await context.insertThenRead()
        case .insertExistingKeyConflicts: try await context.insertExistingKeyConflicts()
        case .updateIsCompareAndSwap: try await context.updateIsCompareAndSwap()
        case .deleteIsCompareAndSwap: try await context.deleteIsCompareAndSwap()
        case .queriesSelectTheirRecords: try await context.queriesSelectTheirRecords()
        case .recordsRoundTripThroughJSON: try await context.recordsRoundTripThroughJSON()
        case .reopenKeepsRecordsAndVersions: try await context.reopenKeepsRecordsAndVersions()
        case .peerHandlesShareRecords: try await context.peerHandlesShareRecords()
        case .conflictsDetectedAcrossHandles: try await context.conflictsDetectedAcrossHandles()
        case .concurrentInsertsOneWins: try await context.concurrentInsertsOneWins()
        case .joinTokenConsumedOnceAcrossHandles: try await context.joinTokenConsumedOnceAcrossHandles()
        case .concurrentUpdatesNeverLost: try await context.concurrentUpdatesNeverLost()
        }
    }
}

extension AuthorityStoreConformance {
    private final class Context: Sendable {
        let check: Check
        let store: any AuthorityStore
        let suite: AuthorityStoreConformance
        let start = Timestamp(secondsSinceEpoch: 1_767_225_600)
        let agentKey = Ed25519.PrivateKey()
        let issuerKey = Ed25519.PrivateKey()
        let alice: AgentIdentity
        let bob: AgentIdentity
        let agentClass: AgentClass

        init(check: Check, store: any AuthorityStore, suite: AuthorityStoreConformance) throws {
            self.check = check
            self.store = store
            self.suite = suite
            alice = try AgentIdentity("spiffe://conformance.test/agent/alice/1")
            bob = try AgentIdentity("spiffe://conformance.test/agent/bob/1")
            agentClass = try AgentClass(name: "worker", defaultTTL: .seconds(60), maximumTTL: .seconds(60))
        }

        func expect(_ condition: Bool, _ detail: @autoclosure () -> String) throws {
            if !condition { throw Failure(check: check, detail: detail()) }
        }

        func expectError(
            _ code: AuthorityStoreError.Code,
            _ what: String,
            _ body: () async throws -> Void
        ) async throws {
            do {
                try await body()
            } catch let error as AuthorityStoreError {
                try expect(error.code == code, "\(what): expected \(code), got \(error)")
                return
            }
            throw Failure(check: check, detail: "\(what): expected error \(code), but it succeeded")
        }

        func time(_ seconds: Int64) -> Timestamp { start.advanced(by: .seconds(seconds)) }

        // MARK: Sample records

        func agent(_ identity: AgentIdentity, revoked: Bool = false) -> AgentRecord {
            AgentRecord(
                identity: identity,
                publicKey: agentKey.publicKey,
                agentClass: agentClass.name,
                supervisor: identity == alice ? nil : alice,
                isRevoked: revoked
            )
        }

        func task(
            _ id: String,
            agent: AgentIdentity? = nil,
            deadline: Int64 = 60,
            state: CredentialAuthority.TaskState = .open
        )
            -> TaskRecord
        {
            TaskRecord(
                id: id,
                agent: agent ?? alice,
                objective: "objective of \(id) — with “quotes” and ünïcode",
                intent: "fix-bug",
                deadline: time(deadline),
                state: state,
                plan: [grant("a"), grant("b", duration: .milliseconds(1500))],
                handedOffTo: nil,
                latestExpiry: time(30),
                nextStepNumber: 3
            )
        }

        func grant(_ name: String, duration: Duration? = nil) -> StepGrant {
            StepGrant(
                name: name,
                audience: "repo",
                actions: ["read", "write"],
                resources: ["repo/writ/*", "repo/docs/a"],
                duration: duration
            )
        }

        func step(_ name: String, task: String, live: Bool = true) throws -> StepRecord {
            let grant = grant(name, duration: .seconds(20))
            var issued: IssuedToken?
            if live {
                let claims = TokenClaims(
                    subject: alice,
                    holder: agentKey.publicKey,
                    agentClass: agentClass.name,
                    audiences: [grant.audience],
                    actions: grant.actions,
                    resources: grant.resources,
                    taskID: task,
                    step: 1,
                    intent: "fix-bug",
                    issuedAt: start,
                    expiresAt: time(20)
                )
                let token = try CapabilityToken.mint(claims, agentClass: agentClass, issuerKey: issuerKey)
                issued = IssuedToken(
                    token: token,
                    taskID: task,
                    step: name,
                    issuedAt: start,
                    expiresAt: time(20),
                    refreshCount: 2
                )
            }
            return StepRecord(taskID: task, name: name, grant: grant, number: 1, live: issued, refreshCount: 2)
        }

        func joinToken(_ n: Int, expires: Int64 = 300) -> JoinTokenRecord {
            JoinTokenRecord(
                digest: String(format: "%064x", n),
                identity: bob,
                agentClass: agentClass.name,
                supervisor: alice,
                expiresAt: time(expires)
            )
        }

        func samples() throws -> [AuthorityRecord] {
            [
                .agent(agent(alice)), .agent(agent(bob, revoked: true)), .task(task("task-1")),
                .step(try step("a", task: "task-1")), .step(try step("b", task: "task-1", live: false)),
                .joinToken(joinToken(1)), .anomaly(AnomalyRecord(tokenID: "tok-1", firstSeen: time(5))),
            ]
        }

        // MARK: Contract

        func insertThenRead() async throws {
            for record in try samples() {
                try expect(try await store.record(for: record.key) == nil, "\(record.key) exists before insert")
                let stored = try await store.insert(record)
                try expect(stored == record.withVersion(1), "insert must return the record as version 1")
                let read = try await store.record(for: record.key)
                try expect(read == record.withVersion(1), "\(record.key) read back as \(String(describing: read))")
            }
            try expect(try await store.record(for: .task("absent")) == nil, "an absent key must read as nil")
            try expect(try await store.agent(bob)?.isRevoked == true, "a revoked agent must read back revoked")
        }

        func insertExistingKeyConflicts() async throws {
            try await store.insert(.task(task("task-1")))
            var other = task("task-1")
            other.objective = "another"
            try await expectError(.conflict, "second insert of task-1") { try await store.insert(.task(other)) }
            let read = try await store.task("task-1")
            try expect(read?.objective == task("task-1").objective && read?.version == 1, "the conflict changed it")
        }

        func updateIsCompareAndSwap() async throws {
            try await store.insert(.task(task("task-1")))
            var next = task("task-1")
            next.nextStepNumber = 4
            let stored = try await store.update(.task(next), expecting: 1)
            try expect(stored.version == 2, "update expecting 1 must store version 2, got \(stored.version)")
            next.nextStepNumber = 99
            try await expectError(.conflict, "stale update expecting 1") {
                try await store.update(.task(next), expecting: 1)
            }
            try await expectError(.conflict, "update expecting a future version") {
                try await store.update(.task(next), expecting: 3)
            }
            let read = try await store.task("task-1")
            try expect(read?.nextStepNumber == 4 && read?.version == 2, "a refused update changed the record")
            try await expectError(.notFound, "update of an absent key") {
                try await store.update(.task(task("absent")), expecting: 1)
            }
            next.nextStepNumber = 5
            next.version = 77  // ignored: the store sets the version
            try expect(try await store.update(.task(next), expecting: 2).version == 3, "versions must count up")
        }

        func deleteIsCompareAndSwap() async throws {
            try await store.insert(.joinToken(joinToken(1)))
            try await expectError(.conflict, "delete expecting version 2") {
                try await store.delete(.joinToken(digest: joinToken(1).digest), expecting: 2)
            }
            try expect(try await store.contains(.joinToken(digest: joinToken(1).digest)), "a refused delete deleted")
            try await store.delete(.joinToken(digest: joinToken(1).digest), expecting: 1)
            try expect(!(try await store.contains(.joinToken(digest: joinToken(1).digest))), "delete must remove")
            try await expectError(.notFound, "delete of an absent key") {
                try await store.delete(.joinToken(digest: joinToken(1).digest), expecting: 1)
            }
        }

        func queriesSelectTheirRecords() async throws {
            try await store.insert(.agent(agent(alice)))
            try await store.insert(.task(task("task-3", deadline: 30)))
            try await store.insert(.task(task("task-1", deadline: 10)))
            try await store.insert(.task(task("task-2", deadline: 31)))
            try await store.insert(.task(task("task-4", deadline: 5, state: .completed)))
            try await store.insert(.task(task("task-5", agent: bob, deadline: 1)))
            try await store.insert(.step(try step("b", task: "task-1")))
            try await store.insert(.step(try step("a", task: "task-1")))
            try await store.insert(.step(try step("a", task: "task-2")))
            try await store.insert(.joinToken(joinToken(2, expires: 100)))
            try await store.insert(.joinToken(joinToken(1, expires: 10)))
            let due = try await store.openTasks(dueBy: time(30)).map(\.id)
            try expect(due == ["task-1", "task-3", "task-5"], "open tasks due by +30 s: \(due)")
            let ofAlice = try await store.tasks(of: alice).map(\.id)
            try expect(ofAlice == ["task-1", "task-2", "task-3", "task-4"], "tasks of alice: \(ofAlice)")
            let steps = try await store.steps(ofTask: "task-1").map(\.name)
            try expect(steps == ["a", "b"], "steps of task-1: \(steps)")
            try expect(try await store.steps(ofTask: "task-9").isEmpty, "steps of an absent task")
            let expired = try await store.records(matching: .joinTokens(expiredBy: time(10))).compactMap(\.joinToken)
            try expect(expired.map(\.digest) == [joinToken(1).digest], "join tokens expired at +10 s")
            let all = try await store.outstandingJoinTokens()
            try expect(all.count == 2, "every outstanding join token: \(all.count)")
            try expect(try await store.pruneJoinTokens(expiredAt: time(10)) == 1, "prune must remove one token")
            try expect(try await store.outstandingJoinTokens().map(\.digest) == [joinToken(2).digest], "after prune")
        }

        func recordsRoundTripThroughJSON() async throws {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            for record in try samples() {
                try await store.insert(record)
                guard let read = try await store.record(for: record.key) else {
                    throw Failure(check: check, detail: "\(record.key) missing")
                }
                let (data, decoded): (Data, AuthorityRecord)
                switch read {
                case .agent(let r):
                    data = try encoder.encode(r)
                    decoded = .agent(try JSONDecoder().decode(AgentRecord.self, from: data))
                case .task(let r):
                    data = try encoder.encode(r)
                    decoded = .task(try JSONDecoder().decode(TaskRecord.self, from: data))
                case .step(let r):
                    data = try encoder.encode(r)
                    decoded = .step(try JSONDecoder().decode(StepRecord.self, from: data))
                case .joinToken(let r):
                    data = try encoder.encode(r)
                    decoded = .joinToken(try JSONDecoder().decode(JoinTokenRecord.self, from: data))
                case .anomaly(let r):
                    data = try encoder.encode(r)
                    decoded = .anomaly(try JSONDecoder().decode(AnomalyRecord.self, from: data))
                }
                try expect(decoded == read, "\(record.key) does not survive JSON")
                let fields = try JSONSerialization.jsonObject(with: data) as? [String: Any]
                try expect(fields?["version"] as? Int == 1, "\(record.key) JSON has no version 1")
            }
            let task = try encoder.encode(try await store.task("task-1"))
            let keys = Set((try JSONSerialization.jsonObject(with: task) as? [String: Any])?.keys.map { $0 } ?? [])
            let stable: Set = [
                "id", "agent", "objective", "intent", "deadline_ms", "state", "plan", "latest_expiry_ms",
            ]
            try expect(stable.isSubset(of: keys), "task JSON field names changed: \(keys.sorted())")
        }

        func reopenKeepsRecordsAndVersions() async throws {
            let samples = try samples()
            for record in samples { try await store.insert(record) }
            var next = task("task-1")
            next.state = .completed
            try await store.update(.task(next), expecting: 1)
            let reopened = try await suite.reopen(store)
            for record in samples {
                let read = try await reopened.record(for: record.key)
                let expected =
                    record.key == .task("task-1") ? AuthorityRecord.task(next).withVersion(2) : record.withVersion(1)
                try expect(read == expected, "\(record.key) after reopen: \(String(describing: read))")
            }
            try await expectError(.conflict, "a stale update after reopen") {
                try await reopened.update(.task(next), expecting: 1)
            }
            try expect(try await reopened.update(.task(next), expecting: 2).version == 3, "CAS must continue at 3")
            try expect(try await reopened.openTasks(dueBy: time(3600)).isEmpty, "the completed task is not open")
        }

        func peerHandlesShareRecords() async throws {
            let peer = try await suite.openPeer(store)
            try await store.insert(.agent(agent(alice)))
            let seen = try await peer.record(for: .agent(alice))
            try expect(seen == AuthorityRecord.agent(agent(alice)).withVersion(1), "the peer must see the insert")
            try await peer.insert(.task(task("task-1")))
            try expect(try await store.task("task-1")?.version == 1, "the first handle must see the peer's insert")
            try expect(try await store.tasks(of: alice).count == 1, "queries must see the peer's insert")
        }

        func conflictsDetectedAcrossHandles() async throws {
            let peer = try await suite.openPeer(store)
            try await store.insert(.step(try step("a", task: "task-1")))
            guard var mine = try await store.step(task: "task-1", name: "a"),
                var theirs = try await peer.step(task: "task-1", name: "a")
            else { throw Failure(check: check, detail: "the step is missing") }
            mine.refreshCount += 1
            theirs.live = nil
            try await store.update(.step(mine), expecting: mine.version)
            try await expectError(.conflict, "the peer's update of the version both read") {
                try await peer.update(.step(theirs), expecting: theirs.version)
            }
            let read = try await peer.step(task: "task-1", name: "a")
            try expect(read?.refreshCount == 3 && read?.live != nil, "the losing update must not be stored")
            try await expectError(.conflict, "the peer's delete of the version both read") {
                try await peer.delete(.step(task: "task-1", name: "a"), expecting: theirs.version)
            }
        }

        func concurrentInsertsOneWins() async throws {
            let peer = try await suite.openPeer(store)
            let handles = [store, peer]
            let wins = try await withThrowingTaskGroup(of: Bool.self) { group in
                for i in 0..<16 {
                    let handle = handles[i % 2]
                    let record = agent(alice)
                    group.addTask {
                        do {
                            try await handle.insert(.agent(record))
                            return true
                        } catch let error as AuthorityStoreError where error.code == .conflict {
                            return false
                        }
                    }
                }
                return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            try expect(wins == 1, "\(wins) of 16 racing inserts of one key succeeded")
        }

        func joinTokenConsumedOnceAcrossHandles() async throws {
            let peer = try await suite.openPeer(store)
            let handles = [store, peer]
            let tokens = (1...20).map { joinToken($0) }
            for token in tokens { try await store.insertJoinToken(token) }
            for token in tokens {
                let winners = try await withThrowingTaskGroup(of: Int.self) { group in
                    for i in 0..<8 {
                        let handle = handles[i % 2]
                        group.addTask { try await handle.consumeJoinToken(digest: token.digest) == nil ? 0 : 1 }
                    }
                    return try await group.reduce(0, +)
                }
                try expect(winners == 1, "join token \(token.digest.suffix(4)) was consumed \(winners) times")
            }
            try expect(try await peer.outstandingJoinTokens().isEmpty, "consumed tokens must be gone")
        }

        func concurrentUpdatesNeverLost() async throws {
            let peer = try await suite.openPeer(store)
            try await store.insert(.task(task("task-1")))
            let perHandle = 40
            try await withThrowingTaskGroup(of: Void.self) { group in
                for handle in [store, peer] {
                    for _ in 0..<perHandle {
                        group.addTask { try await Self.increment(handle, task: "task-1") }
                    }
                }
                try await group.waitForAll()
            }
            let read = try await peer.task("task-1")
            let expected = task("task-1").nextStepNumber + UInt64(2 * perHandle)
            try expect(read?.nextStepNumber == expected, "expected \(expected), got \(String(describing: read))")
            try expect(read?.version == UInt64(1 + 2 * perHandle), "every update must add one version")
        }

        /// Read, add one, compare-and-swap; again on conflict.
        private static func increment(_ store: any AuthorityStore, task id: String) async throws {
            for _ in 0..<10_000 {
                guard var task = try await store.task(id) else { return }
                let expected = task.version
                task.nextStepNumber += 1
                do {
                    try await store.update(.task(task), expecting: expected)
                    return
                } catch let error as AuthorityStoreError where error.code == .conflict {
                    await Task.yield()
                }
            }
        }
    }
}
