import Synchronization
import Testing
import Writ
import WritCrypto
import WritTesting

@Suite("Credential broker")
struct BrokerTests {
    static let apiKey = "sk_live_51Hxyz_static_legacy_key"

    /// A stand-in for a legacy API: it only accepts the static key and records what it received.
    final class LegacyPayments: Sendable {
        let received = Mutex<[String]>([])
        func refund(_ order: String, apiKey: SecureBytes) throws -> String {
            let key = apiKey.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
            guard key == BrokerTests.apiKey else { throw CryptoError(.authenticationFailed, "bad key") }
            received.withLock { $0.append(order) }
            return "refunded \(order)"
        }
    }

    func setUp() async throws -> (World, World.Service, CredentialBroker, CredentialProvider, String) {
        let world = try await World()
        let payments = try await world.service("payments", policies: World.permissive)
        let broker = try CredentialBroker(
            gatekeeper: payments.gatekeeper,
            secret: SecureBytes(Array(Self.apiKey.utf8)),
            sealingKey: SecretBox.makeKey()
        )
        let provider = world.supervisorProvider()
        let task = try await world.authority.openTask(
            for: world.supervisor,
            objective: "refund order 9",
            intent: "refund",
            deadline: .seconds(120)
        )
        try await provider.begin(
            task: task,
            step: StepGrant(name: "refund", audience: "payments", actions: ["refund"], resources: ["payments/orders/*"])
        )
        await broker.openSession(task: task, scope: .init(operations: ["refund"], rateLimit: 2, window: .seconds(60)))
        return (world, payments, broker, provider, task)
    }

    func request(
        _ provider: CredentialProvider,
        _ action: String = "refund",
        _ resource: String = "payments/orders/9"
    )
        async throws -> Gatekeeper.Request
    {
        let credential = try await provider.credential(audience: "payments", action: action, resource: resource)
        return World.request(credential, action: action, resource: resource)
    }

    @Test("the broker makes the call without the agent ever holding the static secret")
    func brokeredCall() async throws {
        let (_, payments, broker, provider, _) = try await setUp()
        let legacy = LegacyPayments()
        let request = try await request(provider)
        let result = try await broker.perform(request) { key in try legacy.refund("order-9", apiKey: key) }
        #expect(result == "refunded order-9")
        #expect(legacy.received.withLock { $0 } == ["order-9"])
        // Nothing the agent holds or sees contains the secret: its token, its proof, the result.
        for agentVisible in [request.token, request.proof, result] { #expect(!agentVisible.contains(Self.apiKey)) }
        // The sealed form at rest does not contain it either, and the audit log never records it.
        #expect(!String(decoding: broker.sealed, as: UTF8.self).contains(Self.apiKey))
        let entries = try await payments.auditStore.readAll()
        for entry in entries { #expect(!String(decoding: entry, as: UTF8.self).contains(Self.apiKey)) }
    }

    @Test("revoking the task stops the broker at once")
    func refusedAfterRevocation() async throws {
        let (world, payments, broker, provider, task) = try await setUp()
        let legacy = LegacyPayments()
        _ = try await broker.perform(try await request(provider)) { try legacy.refund("a", apiKey: $0) }
        try await world.authority.complete(task: task)
        try await payments.sync()
        let late = try await request(provider)
        await #expect(throws: BrokerError(.denied, "")) {
            try await broker.perform(late) { try legacy.refund("b", apiKey: $0) }
        }
        #expect(legacy.received.withLock { $0 } == ["a"])
    }

    @Test("session scope and rate limit apply per task")
    func sessionScope() async throws {
        let (world, payments, broker, provider, task) = try await setUp()
        let legacy = LegacyPayments()
        _ = try await broker.perform(try await request(provider)) { try legacy.refund("1", apiKey: $0) }
        _ = try await broker.perform(try await request(provider)) { try legacy.refund("2", apiKey: $0) }
        let third = try await request(provider)
        await #expect(throws: BrokerError(.rateLimited, "")) {
            try await broker.perform(third) { try legacy.refund("3", apiKey: $0) }
        }
        world.clock.advance(by: .seconds(61))
        try await payments.sync()
        await broker.closeSession(task: task)
        let outside = try await request(provider)
        await #expect(throws: BrokerError(.outsideSession, "")) {
            try await broker.perform(outside) { try legacy.refund("4", apiKey: $0) }
        }
        #expect(legacy.received.withLock { $0 } == ["1", "2"])
    }

    @Test("a sealed secret opened with the wrong key fails closed")
    func wrongSealingKey() async throws {
        let (_, payments, broker, provider, task) = try await setUp()
        let other = CredentialBroker(
            gatekeeper: payments.gatekeeper,
            sealedSecret: broker.sealed,
            sealingKey: SecretBox.makeKey()
        )
        await other.openSession(task: task, scope: .init(operations: ["refund"]))
        let request = try await request(provider)
        await #expect(throws: BrokerError(.secretUnavailable, "")) {
            try await other.perform(request) { _ in "called" }
        }
    }
}
