import WritIdentity

// How the authority reads and changes its store: typed reads that turn a failing store into
// `AuthorityError.storeFailed`, and the compare-and-swap retry loop.
extension CredentialAuthority {
    /// Runs `body` — read, compute, compare-and-swap — again whenever it hits a version conflict, at most
    /// ``Configuration/maximumAttempts`` times. A failing store becomes ``AuthorityError/Code/storeFailed``;
    /// exhausted attempts ``AuthorityError/Code/storeConflict``; an ``AuthorityError`` passes through.
    func withRetry<T>(_ what: @autoclosure () -> String, _ body: () async throws -> T) async throws -> T {
        var lastConflict: AuthorityStoreError?
        for attempt in 0..<configuration.maximumAttempts {
            if attempt > 0 { await Task.yield() }
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
