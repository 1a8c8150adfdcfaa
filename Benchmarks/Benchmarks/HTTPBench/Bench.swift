import Foundation
import Hummingbird
import JWTKit
import Writ
import WritAudit
import WritCrypto
import WritHTTP
import WritHummingbird
import WritIdentity
import WritPolicy
import WritPostgres
import WritRevocation
import WritSQLite
import WritTokens

// The HTTP benchmark's server and load-file generator (Docs/Performance.md, "HTTP"). The load itself is wrk
// (Debian's), driven by Benchmarks/HTTP/run.sh with Benchmarks/HTTP/writ.lua.
//
//   HTTPBench serve noauth|floor1|floor2|writ|jwt|authority|authority-pg PORT DIR
//                                                         a server on 127.0.0.1:PORT (DIR: the authority's SQLite
//                                                         file and the agent it prepared); authority-pg keeps the
//                                                         authority's stores in PostgreSQL: WRIT_POSTGRES_URL, in
//                                                         schema WRIT_BENCH_SCHEMA (created; default writ_bench);
//                                                         floor1/floor2: the no-auth route making 1 or 2 raw
//                                                         libsodium verifies per request (the budgets' floor,
//                                                         measured as one server at the rate it sustains)
//   HTTPBench gen noauth|reused|fresh|jwt|issue|refresh COUNT PORT DIR FILE
//                                                         COUNT requests' headers (and bodies), signed ahead of the
//                                                         run so the client's signing never competes with the server
//   HTTPBench raw SECONDS                                 raw libsodium Ed25519 verify cost on one core (µs)
//   HTTPBench raw-sign SECONDS                            raw libsodium Ed25519 sign cost on one core (µs)
//
// Keys come from fixed seeds (a benchmark, not a deployment), so the generator and the server agree on them.

func seeded(_ n: UInt8) -> Ed25519.PrivateKey {
    try! Ed25519.PrivateKey(seed: SecureBytes([UInt8](repeating: n, count: 32)))
}

// Computed, not stored: main.swift's stored globals would be main-actor isolated.
var issuerKey: Ed25519.PrivateKey { seeded(1) }
var agentKey: Ed25519.PrivateKey { seeded(2) }
var revocationKey: Ed25519.PrivateKey { seeded(3) }
var auditKey: Ed25519.PrivateKey { seeded(4) }
var agentIdentity: AgentIdentity { try! AgentIdentity("spiffe://bench.test/agent/coder/1") }
var agentClass: AgentClass {
    try! AgentClass(
        name: "coder",
        defaultTTL: .seconds(600),
        maximumTTL: .seconds(600),
        refreshLimit: 100_000_000
    )
}
var serviceAudience: String { "repo" }
var benchTarget: String { "/repo/bench" }

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("HTTPBench: \(message)\n".utf8))
    exit(2)
}

/// The no-auth route every variant serves.
func addRoute<Context: RequestContext>(_ router: Router<Context>) {
    router.get(RouterPath(benchTarget)) { _, _ in "ok" }
}

/// The no-auth route, making `verifies` raw libsodium Ed25519 verifies of a fixed 200-byte message per request
/// (what the budgets add to the no-auth route's cost), answering 500 if one fails so none can be optimised away.
func addFloorRoute<Context: RequestContext>(_ router: Router<Context>, verifies: Int) {
    let message = [UInt8](repeating: 7, count: 200)
    let signer = issuerKey
    let signature = signer.signature(for: message)
    let key = signer.publicKey
    router.get(RouterPath(benchTarget)) { _, _ -> Response in
        var ok = true
        for _ in 0..<verifies { ok = key.isValidSignature(signature, for: message) && ok }
        return Response(status: ok ? .ok : .internalServerError, body: .init(byteBuffer: ByteBuffer(string: "ok")))
    }
}

// MARK: jwt-kit peer

struct BenchClaims: JWTPayload {
    var sub: SubjectClaim
    var aud: AudienceClaim
    var exp: ExpirationClaim
    var iat: IssuedAtClaim
    var jti: IDClaim
    var act: [String]
    var res: [String]

    func verify(using algorithm: some JWTAlgorithm) async throws {
        try exp.verifyNotExpired()
        try aud.verifyIntendedAudience(includes: serviceAudience)
    }
}

/// A fresh key, and a JWT by it written to `DIR/jwt.txt` for the generator (the bearer token is re-used, as
/// bearer tokens are).
func jwtKeys(dir: String) async throws -> JWTKeyCollection {
    let keys = JWTKeyCollection()
    await keys.add(eddsa: try EdDSA.PrivateKey(curve: .ed25519))
    let claims = BenchClaims(
        sub: .init(value: agentIdentity.description),
        aud: .init(value: [serviceAudience]),
        exp: .init(value: Date().addingTimeInterval(600)),
        iat: .init(value: Date()),
        jti: .init(value: "01fa780e2296fe3b6675eef0e519b123"),
        act: ["get"],
        res: ["repo/*"]
    )
    try (try await keys.sign(claims)).write(toFile: dir + "/jwt.txt", atomically: true, encoding: .utf8)
    return keys
}

/// A bearer-JWT middleware: what a Swift service would otherwise run (EdDSA verify, expiry and audience).
struct JWTMiddleware<Context: RequestContext>: RouterMiddleware {
    let keys: JWTKeyCollection

    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    )
        async throws -> Response
    {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else {
            return Response(status: .unauthorized)
        }
        do { _ = try await keys.verify(String(header.dropFirst(7)), as: BenchClaims.self) } catch {
            return Response(status: .unauthorized)
        }
        return try await next(request, context)
    }
}

// MARK: Servers

func serve(mode: String, port: Int, dir: String) async throws {
    let address = BindAddress.hostname("127.0.0.1", port: port)
    let limits = WritServerLimits()
    switch mode {
    case "noauth":
        let router = Router()
        addRoute(router)
        try await Application(router: router, server: limits.http1, configuration: .init(address: address))
            .runService()
    case "floor1", "floor2":
        let router = Router()
        addFloorRoute(router, verifies: mode == "floor1" ? 1 : 2)
        try await Application(router: router, server: limits.http1, configuration: .init(address: address))
            .runService()
    case "jwt":
        let router = Router()
        router.add(middleware: JWTMiddleware(keys: try await jwtKeys(dir: dir)))
        addRoute(router)
        try await Application(router: router, server: limits.http1, configuration: .init(address: address))
            .runService()
    case "writ":
        let store = InMemoryRevocationStore()
        let publisher = RevocationPublisher(store: store, signer: revocationKey, clock: SystemClock())
        try await publisher.publishHead()
        let snapshot = RevocationSnapshot(maxStaleness: .seconds(3600))
        let follower = try RevocationFeedFollower(
            verifier: "repo",
            store: store,
            trustedKeys: [revocationKey.publicKey],
            snapshot: snapshot,
            clock: SystemClock()
        )
        _ = try await follower.syncOnce()
        let log = try await AuditLog.open(
            store: InMemoryAuditStore(),
            service: "repo",
            signingKey: auditKey,
            salt: AuditSalt()
        )
        let gatekeeper = Gatekeeper(
            .init(
                audience: serviceAudience,
                trustBundle: TrustBundle(trusting: issuerKey.publicKey),
                agentClasses: [agentClass],
                policies: try PolicySet(text: #"@id("all") permit (principal, action, resource);"#),
                revocation: snapshot,
                replayCache: InMemoryReplayCache(capacity: 2_000_000),
                audit: log,
                detectors: []
            )
        )
        let router = Router(context: WritBasicRequestContext.self)
        router.add(
            middleware: WritGatekeeperMiddleware(
                gatekeeper: gatekeeper,
                configuration: .init(origin: try WritOrigin("http://127.0.0.1:\(port)"))
            )
        )
        addRoute(router)
        try await Application(router: router, server: limits.http1, configuration: .init(address: address))
            .runService()
    case "authority":
        let database = try SQLiteDatabase.open(path: dir + "/authority.sqlite")
        try await serveAuthority(
            port: port,
            dir: dir,
            stores: AuthorityBenchStores(
                authority: SQLiteAuthorityStore(database: database),
                revocations: SQLiteRevocationStore(database: database),
                audit: SQLiteAuditStore(database: database),
                nonces: SQLiteNonceStore(database: database)
            )
        )
    case "authority-pg":
        guard let url = ProcessInfo.processInfo.environment["WRIT_POSTGRES_URL"], !url.isEmpty else {
            fail("authority-pg needs WRIT_POSTGRES_URL")
        }
        let schema = ProcessInfo.processInfo.environment["WRIT_BENCH_SCHEMA"] ?? "writ_bench"
        let configuration = try WritPostgresConfiguration(url: url, schema: schema)
        let service = try WritPostgresService(configuration: configuration)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await service.run() }
            try await service.migrate()
            try await serveAuthority(
                port: port,
                dir: dir,
                stores: AuthorityBenchStores(
                    authority: PostgresAuthorityStore(service: service),
                    revocations: PostgresRevocationStore(service: service),
                    audit: PostgresAuditStore(service: service, log: "authority"),
                    nonces: PostgresNonceStore(service: service)
                )
            )
            group.cancelAll()
        }
    default:
        fail("unknown server \(mode)")
    }
}

/// The authority's stores (SQLite or PostgreSQL).
struct AuthorityBenchStores {
    let authority: any AuthorityStore
    let revocations: any RevocationStore
    let audit: any AuditStore
    let nonces: any NonceStore
}

/// How many steps the authority issues before the refresh load: line `i` of a refresh load refreshes step
/// `r<i mod refreshSteps>`, so the 16 requests in flight never refresh one step at once (each would race the
/// others' compare-and-swap on the step record and be refused), while every step is refreshed many times.
var refreshSteps: Int { 512 }

/// The authority's routes over `stores`, with an attested agent, an open task and steps `r0…` issued.
func serveAuthority(port: Int, dir: String, stores: AuthorityBenchStores) async throws {
    let address = BindAddress.hostname("127.0.0.1", port: port)
    let publisher = RevocationPublisher(store: stores.revocations, signer: revocationKey, clock: SystemClock())
    let log = try await AuditLog.open(
        store: stores.audit,
        service: "authority",
        signingKey: auditKey,
        salt: AuditSalt()
    )
    let attestor = JoinTokenAttestor(clock: SystemClock())
    let authority = CredentialAuthority(
        .init(
            issuerKey: issuerKey,
            agentClasses: [agentClass],
            entitlements: EntitlementTable([
                "coder": [Entitlement(audience: serviceAudience, actions: ["get"], resources: ["repo/*"])]
            ]),
            revocations: publisher,
            audit: log,
            store: stores.authority,
            attestor: attestor
        )
    )
    let join = try await attestor.issueJoinToken(for: agentIdentity, agentClass: "coder")
    let document = try await authority.attest(join.evidence(signingKey: agentKey))
    let task = try await authority.openTask(
        for: agentIdentity,
        objective: "bench",
        intent: "fix-bug",
        deadline: .seconds(3600)
    )
    for i in 0..<refreshSteps { _ = try await authority.issue(task: task, step: step("r\(i)")) }
    try "\(document.text)\n\(task)\n".write(toFile: dir + "/agent.txt", atomically: true, encoding: .utf8)
    let origin = try WritOrigin("http://127.0.0.1:\(port)")
    let routes = WritAuthorityRoutes(
        authority: authority,
        publisher: publisher,
        configuration: .init(
            authenticator: WritCallerAuthenticator(
                origin: origin,
                audience: "writ-authority",
                issuers: TrustBundle(trusting: issuerKey.publicKey),
                operatorKeys: [],
                serviceKeys: [:],
                replayCache: InMemoryReplayCache(capacity: 2_000_000),
                sharedNonces: stores.nonces
            ),
            rateLimit: (1_000_000, 1_000_000),
            auditLog: log
        )
    )
    let router = Router(context: WritBasicRequestContext.self)
    routes.add(to: router)
    try await Application(router: router, server: WritServerLimits().http1, configuration: .init(address: address))
        .runService()
}

func step(_ name: String) -> StepGrant {
    StepGrant(name: name, audience: serviceAudience, actions: ["get"], resources: ["repo/*"], duration: .seconds(600))
}

// MARK: Load files

/// One line per request: `authorization \t proof \t body` (tabs never occur in the values).
func generate(kind: String, count: Int, port: Int, dir: String, file: String) async throws {
    var out = ""
    out.reserveCapacity(count * 700)
    let now = SystemClock().now()
    let origin = try WritOrigin("http://127.0.0.1:\(port)")
    let holderKey = agentKey
    let issuer = issuerKey
    let coder = agentClass
    func claims() -> TokenClaims {
        TokenClaims(
            subject: agentIdentity,
            holder: holderKey.publicKey,
            agentClass: "coder",
            audiences: [serviceAudience],
            actions: ["get"],
            resources: ["repo/*"],
            taskID: "task-bench",
            step: 1,
            issuedAt: now,
            expiresAt: now.advanced(by: .seconds(600))
        )
    }
    switch kind {
    case "reused", "fresh":
        let reused = try CapabilityToken.mint(claims(), agentClass: coder, issuerKey: issuer)
        let request = TokenRequest(audience: serviceAudience, action: "get", resource: String(benchTarget.dropFirst()))
        for _ in 0..<count {
            let token =
                kind == "reused"
                ? reused : try CapabilityToken.mint(claims(), agentClass: coder, issuerKey: issuer)
            let fields = try WritHTTPSigner.headerFields(
                credential: .token(token),
                key: holderKey,
                request: request,
                method: "GET",
                origin: origin,
                target: benchTarget,
                body: [],
                at: now
            )
            out += line(fields, body: "")
        }
    case "noauth":
        for _ in 0..<count { out += "\t\t\n" }
    case "jwt":
        let token = try String(contentsOfFile: dir + "/jwt.txt", encoding: .utf8)
        for _ in 0..<count { out += "Bearer \(token)\t\t\n" }
    case "issue", "refresh":
        let lines = try String(contentsOfFile: dir + "/agent.txt", encoding: .utf8).split(separator: "\n")
        guard lines.count == 2 else { fail("\(dir)/agent.txt: expected the identity document and the task") }
        let document = try IdentityDocument(text: String(lines[0]))
        let task = String(lines[1])
        let prefix = String(UInt32.random(in: 0...UInt32.max), radix: 36)  // step names unique across load files
        for i in 0..<count {
            var exchange = WritWire.TokenExchangeBody(subjectToken: document.text, task: task)
            if kind == "issue" {
                exchange.step = step("s\(prefix)-\(i)")
            } else {
                exchange.refreshStep = "r\(i % refreshSteps)"
            }
            let body = String(decoding: try JSONEncoder().encode(exchange), as: UTF8.self)
            let fields = try WritHTTPSigner.headerFields(
                credential: .identity(document),
                key: holderKey,
                request: TokenRequest(audience: "writ-authority", action: "post", resource: "v1/token"),
                method: "POST",
                origin: origin,
                target: "/v1/token",
                body: Array(body.utf8),
                at: now
            )
            out += line(fields, body: body)
        }
    default:
        fail("unknown load \(kind)")
    }
    try out.write(toFile: file, atomically: true, encoding: .utf8)
}

func line(_ fields: [(name: String, value: String)], body: String) -> String {
    let authorization = fields.first { $0.name == WritPresentation.authorizationHeader }?.value ?? ""
    let proof = fields.first { $0.name == WritPresentation.proofHeader }?.value ?? ""
    return "\(authorization)\t\(proof)\t\(body)\n"
}

// MARK: Raw verify and sign

/// Median µs of one raw libsodium Ed25519 verify (`sign == false`) or sign over a 200-byte message, from chunks of
/// 2,000 calls for `seconds` (one core).
func raw(seconds: Double, sign: Bool = false) -> Double {
    let message = [UInt8](repeating: 7, count: 200)
    let signer = issuerKey  // `issuerKey` derives the key from its seed on every read: read it once
    let signature = signer.signature(for: message)
    let key = signer.publicKey
    var chunks: [Double] = []
    let clock = ContinuousClock()
    let end = clock.now.advanced(by: .milliseconds(Int64(seconds * 1000)))
    var ok = true
    while clock.now < end {
        let start = clock.now
        if sign {
            for _ in 0..<2000 { ok = signer.signature(for: message).count == 64 && ok }
        } else {
            for _ in 0..<2000 { ok = key.isValidSignature(signature, for: message) && ok }
        }
        let elapsed = start.duration(to: clock.now)
        let micros = Double(elapsed.components.seconds) * 1e6 + Double(elapsed.components.attoseconds) / 1e12
        chunks.append(micros / 2000)
    }
    guard ok else { fail(sign ? "a signature was malformed" : "a verify failed") }
    chunks.sort()
    return chunks[chunks.count / 2]
}
