import Testing
import WritTesting

@testable import Writ

@Suite("Verified-chain cache")
struct VerifiedTokenCacheTests {
    @Test("bounded: the oldest chain is evicted first; a capacity of 0 caches nothing")
    func bounded() async throws {
        let world = try await World()
        let task = try await world.openTask(for: world.supervisor, deadline: .seconds(60))
        let verifier = TokenVerifier(
            trustBundle: TrustBundle(trusting: world.issuerKey.publicKey),
            agentClasses: world.classes
        )
        var verified: [VerifiedToken] = []
        for name in ["a", "b", "c"] {
            let issued = try await world.authority.issue(task: task, step: World.step(name))
            verified.append(try verifier.verifyChain(issued.token))
        }
        let cache = VerifiedTokenCache(capacity: 2)
        for token in verified { cache.insert(token) }
        #expect(cache.count == 2)
        #expect(cache.lookup(verified[0].digest) == nil)
        #expect(cache.lookup(verified[1].digest) == verified[1])
        #expect(cache.lookup(verified[2].digest) == verified[2])
        let none = VerifiedTokenCache(capacity: 0)
        none.insert(verified[0])
        #expect(none.lookup(verified[0].digest) == nil)
    }
}
