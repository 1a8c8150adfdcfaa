#if HTTP
import AsyncHTTPClient
import Foundation
import Hummingbird
import HummingbirdTesting
import HTTPTypes
import NIOCore
import Testing
import Writ
import WritAudit
import WritCrypto
import WritHTTP
import WritHummingbird
import WritIdentity
import WritTesting
import WritTokens

@Suite("GET /v1/audit on a service: operators read entries they verify with the log's key alone")
struct AuditRouteTests {
    static let origin = HTTPWorld.serviceOrigin

    /// A `repo` audit log with `count` events on the world's clock, its store and its key.
    struct Log {
        let log: AuditLog
        let store: InMemoryAuditStore
        let key: Ed25519.PrivateKey
    }

    func makeLog(_ world: HTTPWorld, count: Int = 5) async throws -> Log {
        let store = InMemoryAuditStore()
        let key = Ed25519.PrivateKey()
        let log = try await AuditLog.open(
            store: store,
            service: "repo",
            signingKey: key,
            salt: AuditSalt(),
            clock: world.clock
        )
        for i in 0..<count {
            _ = try await log.record(
                AuditEvent(
                    i % 2 == 0 ? .used : .denied,
                    agent: world.agent.description,
                    tokenID: "t\(i)",
                    action: "drill.probe",
                    resource: "drill/canary",
                    decision: i % 2 == 0 ? .allow : .deny
                )
            )
        }
        return Log(log: log, store: store, key: key)
    }

    func router(_ world: HTTPWorld, _ log: AuditLog) -> Router<WritBasicRequestContext> {
        let router = Router(context: WritBasicRequestContext.self)
        router.add(
            middleware: WritAuditRoute(
                log: log,
                configuration: .init(
                    origin: Self.origin,
                    audience: "repo",
                    operatorKeys: [world.operatorKey.publicKey],
                    clock: world.clock
                )
            )
        )
        router.get("/other") { _, _ in "passed through" }
        return router
    }

    func headers(
        _ world: HTTPWorld,
        _ credential: WritCredential,
        _ key: Ed25519.PrivateKey,
        _ target: String,
        audience: String = "repo"
    ) throws -> HTTPFields {
        let mapped = try WritRouteMap().map(method: "GET", target: target)
        let fields = try WritHTTPSigner.headerFields(
            credential: credential,
            key: key,
            request: TokenRequest(audience: audience, action: mapped.action, resource: mapped.resource),
            method: "GET",
            origin: Self.origin,
            target: target,
            body: [],
            at: world.clock.now()
        )
        var headers = HTTPFields()
        for field in fields { headers.append(HTTPField(name: HTTPField.Name(field.name)!, value: field.value)) }
        return headers
    }

    func page(_ response: TestResponse) throws -> WritWire.AuditPageBody {
        try JSONDecoder().decode(WritWire.AuditPageBody.self, from: Data(response.body.readableBytesView))
    }

    @Test("an operator's page verifies: all, a middle page, past the end; other paths pass through")
    func honest() async throws {
        let world = try await HTTPWorld()
        let log = try await makeLog(world)
        let router = router(world, log.log)
        let operatorCredential = WritCredential.key(world.operatorKey.publicKey)
        try await Application(router: router).test(.router) { client in
            let all = try await client.execute(
                uri: "/v1/audit",
                method: .get,
                headers: try headers(world, operatorCredential, world.operatorKey, "/v1/audit")
            )
            #expect(all.status == .ok, "\(all.text)")
            let verified = try page(all).verified(service: "repo", logKey: log.key.publicKey, after: 0, limit: 1000)
            #expect(verified.size == 5)
            #expect(verified.entries.map(\.event.tokenID) == ["t0", "t1", "t2", "t3", "t4"])
            #expect(verified.entries.map(\.event.kind) == [.used, .denied, .used, .denied, .used])

            let middle = "/v1/audit?after=2&limit=2"
            let two = try await client.execute(
                uri: middle,
                method: .get,
                headers: try headers(world, operatorCredential, world.operatorKey, middle)
            )
            let verifiedTwo = try page(two).verified(service: "repo", logKey: log.key.publicKey, after: 2, limit: 2)
            #expect(verifiedTwo.entries.map(\.index) == [2, 3])

            let past = "/v1/audit?after=9"
            let none = try await client.execute(
                uri: past,
                method: .get,
                headers: try headers(world, operatorCredential, world.operatorKey, past)
            )
            let empty = try page(none).verified(service: "repo", logKey: log.key.publicKey, after: 9, limit: 1000)
            #expect(empty.entries.isEmpty)
            #expect(empty.size == 5)

            let other = try await client.execute(uri: "/other", method: .get)
            #expect(other.text == "passed through")
        }
    }

    @Test("refused: no credentials, a bad or replayed proof (401); a service key, a stranger, a token (403); POST")
    func refusals() async throws {
        let world = try await HTTPWorld()
        let log = try await makeLog(world)
        let issued = try await world.issued()
        let router = router(world, log.log)
        try await Application(router: router).test(.router) { client in
            let anonymous = try await client.execute(uri: "/v1/audit", method: .get)
            #expect(anonymous.status == .unauthorized)

            let operatorCredential = WritCredential.key(world.operatorKey.publicKey)
            let signedForOther = try headers(world, operatorCredential, world.operatorKey, "/v1/audit?after=3")
            let moved = try await client.execute(uri: "/v1/audit?after=0", method: .get, headers: signedForOther)
            #expect(moved.status == .unauthorized)
            #expect(moved.refusal?.code == "proof-invalid")

            let wrongAudience = try headers(
                world,
                operatorCredential,
                world.operatorKey,
                "/v1/audit",
                audience: "tickets"
            )
            let elsewhere = try await client.execute(uri: "/v1/audit", method: .get, headers: wrongAudience)
            #expect(elsewhere.status == .unauthorized)

            let once = try headers(world, operatorCredential, world.operatorKey, "/v1/audit")
            let first = try await client.execute(uri: "/v1/audit", method: .get, headers: once)
            #expect(first.status == .ok)
            let again = try await client.execute(uri: "/v1/audit", method: .get, headers: once)
            #expect(again.status == .unauthorized)
            #expect(again.refusal?.code == "replayed")

            let byService = try await client.execute(
                uri: "/v1/audit",
                method: .get,
                headers: try headers(world, .key(world.serviceKey.publicKey), world.serviceKey, "/v1/audit")
            )
            #expect(byService.status == .forbidden)
            let stranger = Ed25519.PrivateKey()
            let byStranger = try await client.execute(
                uri: "/v1/audit",
                method: .get,
                headers: try headers(world, .key(stranger.publicKey), stranger, "/v1/audit")
            )
            #expect(byStranger.status == .forbidden)
            let byToken = try await client.execute(
                uri: "/v1/audit",
                method: .get,
                headers: try headers(world, .token(issued.token), world.agentKey, "/v1/audit")
            )
            #expect(byToken.status == .forbidden)
            #expect(!byToken.text.contains("t0"))

            let post = try await client.execute(uri: "/v1/audit", method: .post)
            #expect(post.status == .methodNotAllowed)
        }
    }

    @Test("a tampered answer fails typed: modified entry, dropped entry, reordered, wrong key, another log's")
    func tamperedAnswers() async throws {
        let world = try await HTTPWorld()
        let log = try await makeLog(world)
        let route = WritAuditRoute<WritBasicRequestContext>(
            log: log.log,
            configuration: .init(origin: Self.origin, audience: "repo", operatorKeys: [world.operatorKey.publicKey])
        )
        let honest = try await route.page(after: 0, limit: 1000)
        let key = log.key.publicKey
        #expect(try honest.verified(service: "repo", logKey: key, after: 0, limit: 1000).entries.count == 5)

        // One byte of entry 2 changed (the answer's copy).
        var modified = honest
        var bytes = try #require(Base64URL.decode(modified.entries[2].entry))
        bytes[bytes.count - 1] ^= 0x01
        modified.entries[2].entry = Base64URL.encode(bytes)
        let modifiedCode = codeOf { try modified.verified(service: "repo", logKey: key, after: 0, limit: 1000) }
        #expect(modifiedCode == .modified)

        // The last entry dropped, or the answer cut to nothing.
        var truncated = honest
        truncated.entries.removeLast()
        #expect(codeOf { try truncated.verified(service: "repo", logKey: key, after: 0, limit: 1000) } == .truncated)
        truncated.entries = []
        #expect(codeOf { try truncated.verified(service: "repo", logKey: key, after: 0, limit: 1000) } == .truncated)
        // The page asked for is what counts: a limit of 2 wants exactly 2.
        #expect(codeOf { try honest.verified(service: "repo", logKey: key, after: 0, limit: 2) } == .malformed)

        // Two entries swapped.
        var reordered = honest
        reordered.entries.swapAt(1, 2)
        #expect(codeOf { try reordered.verified(service: "repo", logKey: key, after: 0, limit: 1000) } == .misplaced)
        // Renumbered to hide the swap: the entry's own index gives it away.
        reordered.entries[1].index = 1
        reordered.entries[2].index = 2
        #expect(codeOf { try reordered.verified(service: "repo", logKey: key, after: 0, limit: 1000) } == .misplaced)

        // Another key, another log's name.
        let wrong = Ed25519.PrivateKey().publicKey
        #expect(codeOf { try honest.verified(service: "repo", logKey: wrong, after: 0, limit: 1000) } == .badSignature)
        #expect(codeOf { try honest.verified(service: "tickets", logKey: key, after: 0, limit: 1000) } == .wrongSubject)

        // A checkpoint re-signed by an attacker over a rewritten history still needs the log's key.
        let forger = Ed25519.PrivateKey()
        var forged = honest
        forged.checkpoint =
            SignedCheckpoint.sign(
                try LogCheckpoint(origin: "repo", size: 5, rootHash: [UInt8](repeating: 7, count: 32)),
                name: "repo",
                key: forger
            ).text
        #expect(codeOf { try forged.verified(service: "repo", logKey: key, after: 0, limit: 1000) } == .badSignature)
        // A broken proof hash.
        var badProof = honest
        badProof.entries[0].proof[0] = Base64URL.encode([UInt8](repeating: 0, count: 32))
        #expect(codeOf { try badProof.verified(service: "repo", logKey: key, after: 0, limit: 1000) } == .modified)
    }

    @Test("an entry altered in the store after it was written: the service's own answer fails verification")
    func tamperedAtRest() async throws {
        let world = try await HTTPWorld()
        let log = try await makeLog(world)
        let route = WritAuditRoute<WritBasicRequestContext>(
            log: log.log,
            configuration: .init(origin: Self.origin, audience: "repo", operatorKeys: [world.operatorKey.publicKey])
        )
        // The token id of entry 1 rewritten ("t1" → "t9"): the entry still decodes, it just says something else.
        var stored = try await log.store.read(1..<2)[0]
        let at = try #require(
            stored.indices.dropLast().first { stored[$0] == UInt8(ascii: "t") && stored[$0 + 1] == UInt8(ascii: "1") }
        )
        stored[at + 1] = UInt8(ascii: "9")
        log.store.tamper(at: 1, with: stored)
        #expect(try await log.log.entries(1..<2).first?.event.tokenID == "t9")
        let answer = try await route.page(after: 0, limit: 1000)
        let code = codeOf { try answer.verified(service: "repo", logKey: log.key.publicKey, after: 0, limit: 1000) }
        #expect(code == .modified)
        // Pages that do not include the altered entry still verify.
        let later = try await route.page(after: 2, limit: 1000)
        #expect(
            try later.verified(service: "repo", logKey: log.key.publicKey, after: 2, limit: 1000).entries.count == 3
        )
    }

    @Test("over loopback: WritServiceAuditClient verifies pages; the wrong key is a typed error")
    func loopback() async throws {
        let world = try await HTTPWorld()
        let log = try await makeLog(world, count: 3)
        let port = freeLoopbackPort()
        let origin = try WritOrigin("http://127.0.0.1:\(port)")
        let router = Router(context: WritBasicRequestContext.self)
        router.add(
            middleware: WritAuditRoute(
                log: log.log,
                configuration: .init(
                    origin: origin,
                    audience: "repo",
                    operatorKeys: [world.operatorKey.publicKey],
                    clock: world.clock
                )
            )
        )
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)))
        let client = WritServiceAuditClient(origin: origin, service: "repo", clock: world.clock)
        do {
            try await withLiveServers([app], ports: [port]) {
                let page = try await client.verifiedPage(
                    after: 0,
                    operatorKey: world.operatorKey,
                    logKey: log.key.publicKey
                )
                #expect(page.entries.count == 3)
                let tail = try await client.verifiedPage(
                    after: 1,
                    limit: 1,
                    operatorKey: world.operatorKey,
                    logKey: log.key.publicKey
                )
                #expect(tail.entries.map(\.index) == [1])
                do {
                    _ = try await client.verifiedPage(
                        after: 0,
                        operatorKey: world.operatorKey,
                        logKey: Ed25519.PrivateKey().publicKey
                    )
                    Issue.record("verified with the wrong key")
                } catch let error as WritEvidenceError {
                    #expect(error.code == .badSignature)
                }
                do {
                    _ = try await client.verifiedPage(
                        after: 0,
                        operatorKey: world.serviceKey,
                        logKey: log.key.publicKey
                    )
                    Issue.record("a non-operator read the log")
                } catch let error as WritHTTPError {
                    #expect(error.status == 403)
                }
            }
        } catch {
            try? await client.shutdown()
            throw error
        }
        try await client.shutdown()
    }
}
#endif
