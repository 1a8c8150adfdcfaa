#if HTTP
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
import WritRevocation
import WritTesting
import WritTokens

@Suite("Authority routes, router level: who may call what, and the token exchange")
struct AuthorityRouteTests {
    static let origin = try! WritOrigin("https://authority.test")

    func routes(_ world: HTTPWorld, rate: (Double, Double) = (1000, 1000)) -> WritAuthorityRoutes {
        WritAuthorityRoutes(
            authority: world.authority,
            publisher: world.publisher,
            configuration: .init(
                authenticator: WritCallerAuthenticator(
                    origin: Self.origin,
                    audience: "writ-authority",
                    issuers: TrustBundle(trusting: world.issuerKey.publicKey),
                    operatorKeys: [world.operatorKey.publicKey],
                    serviceKeys: ["repo": world.serviceKey.publicKey],
                    clock: world.clock
                ),
                maximumBodyBytes: 4096,
                rateLimit: rate,
                auditLog: world.authorityLog
            )
        )
    }

    func withApp(
        _ world: HTTPWorld,
        rate: (Double, Double) = (1000, 1000),
        _ body: @Sendable (any TestClientProtocol) async throws -> Void
    ) async throws {
        let router = Router(context: WritBasicRequestContext.self)
        routes(world, rate: rate).add(to: router)
        try await Application(router: router).test(.router, body)
    }

    /// Headers signed by `key` presenting `credential` for exactly this request.
    func signed(
        _ credential: WritCredential,
        _ key: Ed25519.PrivateKey,
        _ method: String,
        _ target: String,
        _ body: [UInt8],
        clock: any WallClock,
        signFor: String? = nil
    ) throws -> HTTPFields {
        let mapped = try WritRouteMap().map(method: method, target: signFor ?? target)
        let fields = try WritHTTPSigner.headerFields(
            credential: credential,
            key: key,
            request: TokenRequest(audience: "writ-authority", action: mapped.action, resource: mapped.resource),
            method: method,
            origin: Self.origin,
            target: signFor ?? target,
            body: body,
            at: clock.now()
        )
        var headers = HTTPFields()
        for field in fields { headers.append(HTTPField(name: HTTPField.Name(field.name)!, value: field.value)) }
        headers[.contentType] = "application/json"
        return headers
    }

    func json(_ value: some Encodable) throws -> [UInt8] { Array(try JSONEncoder().encode(value)) }

    /// Sends a signed request.
    @discardableResult
    func send(
        _ client: any TestClientProtocol,
        _ credential: WritCredential,
        _ key: Ed25519.PrivateKey,
        _ method: HTTPRequest.Method,
        _ target: String,
        _ body: [UInt8] = [],
        clock: any WallClock
    ) async throws -> TestResponse {
        let headers = try signed(credential, key, method.rawValue, target, body, clock: clock)
        return try await client.execute(
            uri: target,
            method: method,
            headers: headers,
            body: body.isEmpty ? nil : ByteBuffer(bytes: body)
        )
    }

    @Test("metadata, trust bundle, feed and head are anonymous; the feed's records verify")
    func anonymous() async throws {
        let world = try await HTTPWorld()
        let issued = try await world.issued()
        try await world.authority.revoke(block: issued.revocationID)
        try await world.publisher.publishHead()
        try await withApp(world) { client in
            try await client.execute(uri: WritResourceMetadata.path, method: .get) { response in
                let metadata = try JSONDecoder().decode(
                    WritResourceMetadata.self,
                    from: Data(response.body.readableBytesView)
                )
                #expect(metadata.resource == "https://authority.test")
                #expect(metadata.bearerMethodsSupported == ["header"])
            }
            try await client.execute(uri: "/v1/trust-bundle", method: .get) { response in
                let body = try JSONDecoder().decode(
                    WritWire.TrustBundleBody.self,
                    from: Data(response.body.readableBytesView)
                )
                #expect(body.issuerKeys.compactMap(\.trustedKey).map(\.publicKey) == [world.issuerKey.publicKey])
                #expect(
                    body.revocationKeys.compactMap(\.trustedKey).map(\.publicKey) == [world.revocationKey.publicKey]
                )
            }
            try await client.execute(uri: "/v1/feed?after=0&limit=10", method: .get) { response in
                let page = try JSONDecoder().decode(
                    WritWire.FeedPageBody.self,
                    from: Data(response.body.readableBytesView)
                ).page()
                #expect(page.entries.count == 1)
                #expect(page.entries[0].isSigned(by: world.revocationKey.publicKey))
                #expect(page.head?.isSigned(by: world.revocationKey.publicKey) == true)
            }
            try await client.execute(uri: "/v1/feed?after=x", method: .get) { #expect($0.status == .badRequest) }
            try await client.execute(uri: "/v1/feed/head", method: .get) { #expect($0.status == .ok) }
            // Everything else needs a caller.
            for target in ["/v1/tasks", "/v1/token", "/v1/revocations", "/v1/attest"] {
                try await client.execute(uri: target, method: .post) { response in
                    #expect(response.status == .unauthorized, "\(target)")
                    #expect(response.headers[.wwwAuthenticate] == "Writ realm=\"writ-authority\"")
                }
            }
        }
    }

    @Test("attest needs the evidence's own key; an agent opens, exchanges for and refreshes only its own tasks")
    func agentRoutes() async throws {
        let world = try await HTTPWorld()
        let clock = world.clock
        let otherDocument = try await world.attest(world.other, key: world.otherKey)
        try await withApp(world) { client in
            let join = try await world.attestor.issueJoinToken(for: world.agent, agentClass: "coder")
            let evidence = try self.json(join.evidence(signingKey: world.agentKey))
            let wrongKey = Ed25519.PrivateKey()
            let refused = try await self.send(
                client,
                .key(wrongKey.publicKey),
                wrongKey,
                .post,
                "/v1/attest",
                evidence,
                clock: clock
            )
            #expect(refused.status == .forbidden)
            let attested = try await self.send(
                client,
                .key(world.agentKey.publicKey),
                world.agentKey,
                .post,
                "/v1/attest",
                evidence,
                clock: clock
            )
            #expect(attested.status == .ok, "\(attested.text)")
            let document = try IdentityDocument(
                text: try JSONDecoder().decode(WritWire.IdentityBody.self, from: Data(attested.body.readableBytesView))
                    .identityDocument
            )
            let me = WritCredential.identity(document)

            let open = try self.json(WritWire.OpenTaskBody(objective: "o", intent: "fix-bug", deadlineSeconds: 600))
            let opened = try await self.send(client, me, world.agentKey, .post, "/v1/tasks", open, clock: clock)
            #expect(opened.status == .ok, "\(opened.text)")
            let task = try JSONDecoder().decode(WritWire.TaskBody.self, from: Data(opened.body.readableBytesView)).task

            // Token exchange for the own task.
            let exchange = WritWire.TokenExchangeBody(subjectToken: document.text, task: task, step: HTTPWorld.step)
            let issued = try await self.send(
                client,
                me,
                world.agentKey,
                .post,
                "/v1/token",
                try self.json(exchange),
                clock: clock
            )
            #expect(issued.status == .ok, "\(issued.text)")
            let answer = try JSONDecoder().decode(
                WritWire.TokenResponseBody.self,
                from: Data(issued.body.readableBytesView)
            )
            #expect(answer.tokenType == "Writ")
            #expect(answer.issuedTokenType == WritWire.capabilityTokenType)
            #expect(answer.writ.token.holder == world.agentKey.publicKey)
            #expect(answer.expiresIn == 30)

            let refresh = WritWire.TokenExchangeBody(subjectToken: document.text, task: task, refreshStep: "fix")
            let refreshed = try await self.send(
                client,
                me,
                world.agentKey,
                .post,
                "/v1/token",
                try self.json(refresh),
                clock: clock
            )
            #expect(refreshed.status == .ok, "\(refreshed.text)")

            // Another agent cannot touch this task, nor ask for a token in this agent's name.
            let them = WritCredential.identity(otherDocument)
            let theirExchange = WritWire.TokenExchangeBody(
                subjectToken: otherDocument.text,
                task: task,
                step: HTTPWorld.step
            )
            let stolen = try await self.send(
                client,
                them,
                world.otherKey,
                .post,
                "/v1/token",
                try self.json(theirExchange),
                clock: clock
            )
            #expect(stolen.status == .forbidden)
            #expect(stolen.refusal?.code == "forbidden")
            let completeOther = try await self.send(
                client,
                them,
                world.otherKey,
                .post,
                "/v1/tasks/\(task)/complete",
                try self.json(WritWire.Empty()),
                clock: clock
            )
            #expect(completeOther.status == .forbidden)
            var mismatched = exchange
            mismatched.subjectToken = otherDocument.text
            let wrongSubject = try await self.send(
                client,
                me,
                world.agentKey,
                .post,
                "/v1/token",
                try self.json(mismatched),
                clock: clock
            )
            #expect(wrongSubject.status == .forbidden)
            var actor = exchange
            actor.actorToken = otherDocument.text
            let withActor = try await self.send(
                client,
                me,
                world.agentKey,
                .post,
                "/v1/token",
                try self.json(actor),
                clock: clock
            )
            #expect(withActor.status == .badRequest)
            var grant = exchange
            grant.grantType = "authorization_code"
            let badGrant = try await self.send(
                client,
                me,
                world.agentKey,
                .post,
                "/v1/token",
                try self.json(grant),
                clock: clock
            )
            #expect(badGrant.status == .badRequest)
            #expect(badGrant.refusal?.error == "unsupported_grant_type")
            let garbage = try await self.send(
                client,
                me,
                world.agentKey,
                .post,
                "/v1/token",
                Array("{nope".utf8),
                clock: clock
            )
            #expect(garbage.status == .badRequest)

            // Only operators revoke; then the agent's own calls are refused.
            let revoke = try self.json(WritWire.RevocationBody(agent: world.agent.description))
            let notOperator = try await self.send(
                client,
                me,
                world.agentKey,
                .post,
                "/v1/revocations",
                revoke,
                clock: clock
            )
            #expect(notOperator.status == .forbidden)
            let byOperator = try await self.send(
                client,
                .key(world.operatorKey.publicKey),
                world.operatorKey,
                .post,
                "/v1/revocations",
                revoke,
                clock: clock
            )
            #expect(byOperator.status == .ok, "\(byOperator.text)")
            let afterRevoke = try await self.send(client, me, world.agentKey, .post, "/v1/tasks", open, clock: clock)
            #expect(afterRevoke.status == .unauthorized)
            #expect(afterRevoke.refusal?.code == "revoked")

            // Completing a task over HTTP (the other agent's own).
            let theirOpen = try await self.send(client, them, world.otherKey, .post, "/v1/tasks", open, clock: clock)
            let theirTask = try JSONDecoder().decode(
                WritWire.TaskBody.self,
                from: Data(theirOpen.body.readableBytesView)
            ).task
            let handOff = try self.json(
                WritWire.OpenTaskBody(objective: "next", intent: "fix-bug", deadlineSeconds: 60)
            )
            let handed = try await self.send(
                client,
                them,
                world.otherKey,
                .post,
                "/v1/tasks/\(theirTask)/hand-off",
                handOff,
                clock: clock
            )
            #expect(handed.status == .ok, "\(handed.text)")
            let newTask = try JSONDecoder().decode(WritWire.TaskBody.self, from: Data(handed.body.readableBytesView))
                .task
            let completed = try await self.send(
                client,
                them,
                world.otherKey,
                .post,
                "/v1/tasks/\(newTask)/complete",
                try self.json(WritWire.Empty()),
                clock: clock
            )
            #expect(completed.status == .ok, "\(completed.text)")
            #expect(try await world.authority.task(newTask)?.state == .completed)
            #expect(try await world.authority.task(theirTask)?.state == .handedOff)
            let closed = WritWire.TokenExchangeBody(
                subjectToken: otherDocument.text,
                task: newTask,
                step: HTTPWorld.step
            )
            let onClosed = try await self.send(
                client,
                them,
                world.otherKey,
                .post,
                "/v1/token",
                try self.json(closed),
                clock: clock
            )
            #expect(onClosed.status == .forbidden)
            #expect(onClosed.refusal?.code == "task-closed")
        }
    }

    @Test("callers' proofs: replayed, for another route, stale, by the wrong key, or a capability token, are refused")
    func hostileCallers() async throws {
        let world = try await HTTPWorld()
        let clock = world.clock
        let document = try await world.attest(world.agent, key: world.agentKey)
        let issued = try await world.issued(world.other, key: world.otherKey)
        let me = WritCredential.identity(document)
        let open = try self.json(WritWire.OpenTaskBody(objective: "o", intent: "fix-bug", deadlineSeconds: 600))
        try await withApp(world) { client in
            let headers = try self.signed(me, world.agentKey, "POST", "/v1/tasks", open, clock: clock)
            let first = try await client.execute(
                uri: "/v1/tasks",
                method: .post,
                headers: headers,
                body: ByteBuffer(bytes: open)
            )
            #expect(first.status == .ok)
            let replay = try await client.execute(
                uri: "/v1/tasks",
                method: .post,
                headers: headers,
                body: ByteBuffer(bytes: open)
            )
            #expect(replay.status == .unauthorized)
            #expect(replay.refusal?.code == "replayed")

            let elsewhere = try self.signed(
                me,
                world.agentKey,
                "POST",
                "/v1/tasks",
                open,
                clock: clock,
                signFor: "/v1/attest"
            )
            let moved = try await client.execute(
                uri: "/v1/tasks",
                method: .post,
                headers: elsewhere,
                body: ByteBuffer(bytes: open)
            )
            #expect(moved.status == .unauthorized)
            #expect(moved.refusal?.code == "proof-invalid")

            let wrongKey = try await self.send(client, me, Ed25519.PrivateKey(), .post, "/v1/tasks", open, clock: clock)
            #expect(wrongKey.refusal?.code == "proof-invalid")

            let token = try await self.send(
                client,
                .token(issued.token),
                world.otherKey,
                .post,
                "/v1/tasks",
                open,
                clock: clock
            )
            #expect(token.status == .unauthorized)
            #expect(token.refusal?.code == "wrong-credential")

            let stranger = Ed25519.PrivateKey()
            let unregistered = try await self.send(
                client,
                .key(stranger.publicKey),
                stranger,
                .post,
                "/v1/tasks",
                open,
                clock: clock
            )
            #expect(unregistered.status == .forbidden)
            let strangerRevoke = try await self.send(
                client,
                .key(stranger.publicKey),
                stranger,
                .post,
                "/v1/revocations",
                try self.json(WritWire.RevocationBody(agent: world.agent.description)),
                clock: clock
            )
            #expect(strangerRevoke.status == .forbidden)

            let big = Array(repeating: UInt8(ascii: " "), count: 5000)
            let tooBig = try await self.send(client, me, world.agentKey, .post, "/v1/tasks", big, clock: clock)
            #expect(tooBig.status == .contentTooLarge)

            var garbage = headers
            garbage[HTTPField.Name("Writ-Proof")!] = "writp1_" + String(repeating: "A", count: 119)
            let junk = try await client.execute(
                uri: "/v1/tasks",
                method: .post,
                headers: garbage,
                body: ByteBuffer(bytes: open)
            )
            #expect(junk.status == .unauthorized)
            #expect(junk.refusal?.code == "malformed-proof")

            let stale = headers
            clock.advance(by: .seconds(120))
            let late = try await client.execute(
                uri: "/v1/tasks",
                method: .post,
                headers: stale,
                body: ByteBuffer(bytes: open)
            )
            #expect(late.status == .unauthorized)
            #expect(["proof-stale", "identity-rejected"].contains(late.refusal?.code ?? ""))
        }
    }

    @Test("services report anomalies and their own watermarks; agents cannot")
    func serviceRoutes() async throws {
        let world = try await HTTPWorld()
        let clock = world.clock
        let issued = try await world.issued()
        let document = try await world.authority.agent(world.agent)
        #expect(document != nil)
        let service = WritCredential.key(world.serviceKey.publicKey)
        try await withApp(world) { client in
            let report = AnomalyReport(
                detector: "test",
                agent: world.agent.description,
                tokenID: issued.token.id.description,
                blockID: issued.revocationID,
                rootBlockID: issued.revocationID,
                holderKeyID: world.agentKey.publicKey.keyID,
                taskID: issued.taskID,
                detail: "probing",
                time: clock.now()
            )
            let body = try self.json(report)
            let stranger = Ed25519.PrivateKey()
            let byStranger = try await self.send(
                client,
                .key(stranger.publicKey),
                stranger,
                .post,
                "/v1/anomalies",
                body,
                clock: clock
            )
            #expect(byStranger.status == .forbidden)
            let reported = try await self.send(
                client,
                service,
                world.serviceKey,
                .post,
                "/v1/anomalies",
                body,
                clock: clock
            )
            #expect(reported.status == .ok, "\(reported.text)")
            #expect(try await world.authority.agent(world.agent)?.isRevoked == true)

            let snapshotReport = try WatermarkReport(
                verifier: "repo",
                sequence: 0,
                hash: .zero,
                recordedAt: clock.now(),
                signer: world.serviceKey
            )
            let posted = try await self.send(
                client,
                service,
                world.serviceKey,
                .post,
                "/v1/watermarks",
                try self.json(WritWire.WatermarkBody(snapshotReport)),
                clock: clock
            )
            #expect(posted.status == .ok, "\(posted.text)")
            let forged = try WatermarkReport(
                verifier: "billing",
                sequence: 0,
                hash: .zero,
                recordedAt: clock.now(),
                signer: world.serviceKey
            )
            let wrongName = try await self.send(
                client,
                service,
                world.serviceKey,
                .post,
                "/v1/watermarks",
                try self.json(WritWire.WatermarkBody(forged)),
                clock: clock
            )
            #expect(wrongName.status == .forbidden)
            let checkpoint = try await self.send(
                client,
                service,
                world.serviceKey,
                .get,
                "/v1/audit/checkpoint",
                clock: clock
            )
            #expect(checkpoint.status == .forbidden)
            let byOperator = try await self.send(
                client,
                .key(world.operatorKey.publicKey),
                world.operatorKey,
                .get,
                "/v1/audit/checkpoint",
                clock: clock
            )
            #expect(byOperator.status == .ok)
            #expect(byOperator.text.hasPrefix("authority"))
        }
    }

    @Test("a caller over its rate limit gets 429 with Retry-After")
    func rateLimited() async throws {
        let world = try await HTTPWorld()
        let clock = world.clock
        let document = try await world.attest(world.agent, key: world.agentKey)
        let open = try self.json(WritWire.OpenTaskBody(objective: "o", intent: "fix-bug", deadlineSeconds: 600))
        try await withApp(world, rate: (0, 2)) { client in
            var statuses: [Int] = []
            for _ in 0..<3 {
                let response = try await self.send(
                    client,
                    .identity(document),
                    world.agentKey,
                    .post,
                    "/v1/tasks",
                    open,
                    clock: clock
                )
                statuses.append(Int(response.status.code))
                if response.status == .tooManyRequests { #expect(response.headers[.retryAfter] == "1") }
            }
            #expect(statuses == [200, 200, 429])
        }
    }

    @Test("a token exchange reads its task's record, never every step of the task (no cost growing with the task)")
    func exchangeReadsNoStepList() async throws {
        let store = HookedAuthorityStore(InMemoryAuthorityStore())
        let world = try await HTTPWorld(store: store)
        let clock = world.clock
        let document = try await world.attest(world.agent, key: world.agentKey)
        let me = WritCredential.identity(document)
        try await withApp(world) { client in
            let open = try self.json(WritWire.OpenTaskBody(objective: "o", intent: "fix-bug", deadlineSeconds: 600))
            let opened = try await self.send(client, me, world.agentKey, .post, "/v1/tasks", open, clock: clock)
            let task = try JSONDecoder().decode(WritWire.TaskBody.self, from: Data(opened.body.readableBytesView)).task
            for n in 0..<4 {
                var step = HTTPWorld.step
                step.name = "fix-\(n)"
                let exchange = WritWire.TokenExchangeBody(subjectToken: document.text, task: task, step: step)
                let issued = try await self.send(
                    client,
                    me,
                    world.agentKey,
                    .post,
                    "/v1/token",
                    try self.json(exchange),
                    clock: clock
                )
                #expect(issued.status == .ok, "\(issued.text)")
                let refresh = WritWire.TokenExchangeBody(
                    subjectToken: document.text,
                    task: task,
                    refreshStep: step.name
                )
                let refreshed = try await self.send(
                    client,
                    me,
                    world.agentKey,
                    .post,
                    "/v1/token",
                    try self.json(refresh),
                    clock: clock
                )
                #expect(refreshed.status == .ok, "\(refreshed.text)")
            }
            #expect(try await world.authority.task(task)?.steps.count == 4)
        }
        // The one scan above is the test's own `task(_:)`; the eight exchanges made none.
        let scans = store.calls.filter { if case .query(.steps) = $0 { true } else { false } }.count
        #expect(scans == 1, "step scans: \(scans)")
    }
}
#endif
