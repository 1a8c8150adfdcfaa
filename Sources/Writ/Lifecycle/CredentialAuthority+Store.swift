import WritIdentity

// How the authority reads and changes its store: typed reads that turn a failing store into
// `AuthorityError.storeFailed`, and the compare-and-swap retry loop.
extension CredentialAuthority {
    /// Runs `body` — read, compute, compare-and-swap — again whenever it hits a version conflict, at most
    /// ``Configuration/maximumAttempts`` times. A failing store becomes ``AuthorityError/Code/storeFailed``;
    /// exhausted attempts ``AuthorityError/Code/storeConflict``; an ``AuthorityError`` passes through.
    ///
    /// Before each new attempt it waits a random time that doubles with every conflict, from 50–100 µs up to
    /// 6.4–12.8 ms: callers that conflicted on one record (many steps of one task issued at once) would otherwise
    /// read and collide again together, each wasting a round of store reads, until some ran out of attempts.
    func withRetry<T>(_ what: @autoclosure () -> String, _ body: () async throws -> T) async throws -> T {
        var lastConflict: AuthorityStoreError?
        for attempt in 0..<configuration.maximumAttempts {
            // Not cancellable: a cancelled caller (a client gone) must not abandon a change half-retried, such as
            // the revocation that closing a task makes; the wait then just ends early.
            if attempt > 0 { try? await Task.sleep(for: Self.conflictBackoff(attempt: attempt)) }
            do {
                return try await body()
            } catch let error as AuthorityStoreError where error.code == .conflict {
                lastConflict = error
            } catch let error as AuthorityError {
                throw error
            } catch {
                throw AuthorityError(.storeFailed, what(), underlying: error)
            }
        }
        throw AuthorityError(
            .storeConflict,
            "\(what()): \(configuration.maximumAttempts) attempts conflicted (last: \(lastConflict.map { "\($0)" } ?? "-"))"
        )
    }

    /// How long to wait before attempt `attempt` (1, 2, …) after a conflict: uniformly random in the upper half
    /// of 100 µs × 2^(attempt − 1), the exponent capped at 7 (12.8 ms).
    static func conflictBackoff(attempt: Int) -> Duration {
        let ceiling = Int64(100) << Int64(min(max(attempt - 1, 0), 7))
        return .microseconds(Int64.random(in: (ceiling / 2)...ceiling))
    }

    /// One read from the store; a failing store becomes ``AuthorityError/Code/storeFailed``.
    func reading<T>(_ what: @autoclosure () -> String, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as AuthorityError {
            throw error
        } catch {
            throw AuthorityError(.storeFailed, "reading \(what())", underlying: error)
        }
    }

    func storedAgent(_ identity: AgentIdentity) async throws -> AgentRecord? {
        try await reading("agent \(identity)") { try await store.agent(identity) }
    }

    func storedTask(_ id: String) async throws -> TaskRecord? {
        try await reading("task \(id)") { try await store.task(id) }
    }

    func storedStep(_ taskID: String, _ name: String) async throws -> StepRecord? {
        try await reading("step '\(name)' of task \(taskID)") { try await store.step(task: taskID, name: name) }
    }

    func storedSteps(_ taskID: String) async throws -> [StepRecord] {
        try await reading("steps of task \(taskID)") { try await store.steps(ofTask: taskID) }
    }

    /// The agent a record describes, with its configured class.
    ///
    /// - Throws: ``AuthorityError/Code/unknownAgentClass`` when the record's class is no longer configured.
    func agent(from record: AgentRecord) throws -> Agent {
        guard let agentClass = classes[record.agentClass] else {
            throw AuthorityError(
                .unknownAgentClass,
                "agent \(record.identity)'s class '\(record.agentClass)' is not configured"
            )
        }
        return Agent(
            identity: record.identity,
            publicKey: record.publicKey,
            agentClass: agentClass,
            supervisor: record.supervisor,
            isRevoked: record.isRevoked
        )
    }
}
