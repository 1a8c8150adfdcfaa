import Testing
import WritTesting

@testable import Writ

@Suite("Authority conflict backoff")
struct ConflictBackoffTests {
    @Test("the wait before a retry doubles per conflict, is jittered in the upper half, and is capped at 12.8 ms")
    func bounds() {
        for attempt in 1...70 {
            let ceiling = Duration.microseconds(Int64(100) << Int64(min(attempt - 1, 7)))
            for _ in 0..<50 {
                let wait = CredentialAuthority.conflictBackoff(attempt: attempt)
                #expect(wait >= ceiling / 2 && wait <= ceiling, "attempt \(attempt): \(wait)")
            }
        }
        #expect(CredentialAuthority.conflictBackoff(attempt: 1) <= .microseconds(100))
        #expect(CredentialAuthority.conflictBackoff(attempt: 1_000_000) <= .microseconds(12_800))
        // Jittered: two callers that conflicted together rarely wait the same.
        let waits = Set((0..<20).map { _ in CredentialAuthority.conflictBackoff(attempt: 5) })
        #expect(waits.count > 1)
    }
}

@Suite("Authority replicas under contention")
struct ContentionTests {
    @Test("32 steps of one task issued at once from 8 replicas all succeed, with distinct numbers")
    func manyIssuersOneTask() async throws {
        let world = try await World()
        let task = try await world.openTask(for: world.supervisor, deadline: .seconds(300))
        // The shared store with a little latency per call, as a real one has.
        let store = HookedAuthorityStore(world.state) { _ in try await Task.sleep(for: .microseconds(300)) }
        var configuration = world.configuration
        configuration.store = store
        let replicas = (0..<8).map { _ in CredentialAuthority(configuration) }
        let numbers = try await withThrowingTaskGroup(of: UInt64?.self) { group in
            for i in 0..<32 {
                let authority = replicas[i % replicas.count]
                group.addTask {
                    try await authority.issue(task: task, step: World.step("c\(i)")).token.root.claims.step
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(Set(numbers).count == 32, "step numbers collided: \(numbers)")
        #expect(store.conflicts > 0, "the issuers did contend (else this tests nothing)")
    }
}
