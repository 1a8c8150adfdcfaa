#if HTTP
import AsyncHTTPClient
import Foundation
import Hummingbird
import HTTPTypes
import NIOCore
import NIOHTTP1
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

/// An agent's HTTP call to a Writ-protected service, signed with a fresh bound proof from its provider.
func callService(
    _ http: HTTPClient,
    _ provider: CredentialProvider,
    origin: WritOrigin,
    method: String,
    target: String,
    body: String = "",
    headers extra: [(String, String)] = []
) async throws -> (status: Int, refusal: WritRefusal?, body: String) {
    let mapped = try WritRouteMap().map(method: method, target: target)
    let bodyBytes = Array(body.utf8)
    let binding = try WritHTTPRequestDigest.digest(
        method: method,
        origin: origin,
        target: target,
        bodyDigest: WritHTTPRequestDigest.bodyDigest(bodyBytes)
    )
    let credential = try await provider.credential(
        audience: "repo",
        action: mapped.action,
        resource: mapped.resource,
        binding: binding
    )
    var request = HTTPClientRequest(url: origin.description + target)
    request.method = .init(rawValue: method)
    for field in WritPresentation(credential: credential.token, proof: credential.proof).headerFields {
        request.headers.add(name: field.name, value: field.value)
    }
    for (name, value) in extra { request.headers.add(name: name, value: value) }
    if !bodyBytes.isEmpty { request.body = .bytes(bodyBytes) }
    let response = try await http.execute(request, timeout: .seconds(10))
    let collected = try await response.body.collect(upTo: 1 << 20)
    let data = Data(collected.readableBytesView)
    return (
        Int(response.status.code), try? JSONDecoder().decode(WritRefusal.self, from: data),
        String(decoding: data, as: UTF8.self)
    )
}

/// Sends raw bytes to a port and returns the first line of the answer (for inputs no HTTP client will send).
func rawExchange(port: Int, _ request: [UInt8]) async throws -> String {
    #if canImport(Glibc)
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    #else
    let fd = socket(AF_INET, SOCK_STREAM, 0)
    #endif
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var timeout = timeval(tv_sec: 10, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    }
    guard connected == 0 else { return "connect failed" }
    var sent = 0
    while sent < request.count {
        let n = request[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        if n <= 0 { break }
        sent += n
    }
    var buffer = [UInt8](repeating: 0, count: 4096)
    let n = recv(fd, &buffer, buffer.count, 0)
    guard n > 0 else { return "closed" }
    return String(decoding: buffer[..<n], as: UTF8.self).split(separator: "\r\n").first.map(String.init) ?? ""
}

@Suite("End to end over real HTTP on loopback: authority, service, agent, follower")
struct EndToEndTests {
    @Test("attest → open task → issue → call → refresh → revoke → denied, with audit entries on both sides")
    func lifecycle() async throws {
        let world = try await HTTPWorld()
        let authorityPort = freeLoopbackPort()
        let servicePort = freeLoopbackPort()
        let authorityOrigin = try WritOrigin("http://127.0.0.1:\(authorityPort)")
        let serviceOrigin = try WritOrigin("http://127.0.0.1:\(servicePort)")

        // The authority's server.
        let routes = WritAuthorityRoutes(
            authority: world.authority,
            publisher: world.publisher,
            configuration: .init(
                authenticator: WritCallerAuthenticator(
                    origin: authorityOrigin,
                    audience: "writ-authority",
                    issuers: TrustBundle(trusting: world.issuerKey.publicKey),
                    operatorKeys: [world.operatorKey.publicKey],
                    serviceKeys: ["repo": world.serviceKey.publicKey],
                    clock: world.clock
                ),
                auditLog: world.authorityLog
            )
        )
        let authorityRouter = Router(context: WritBasicRequestContext.self)
        routes.add(to: authorityRouter)
        let authorityApp = Application(
            router: authorityRouter,
            configuration: .init(address: .hostname("127.0.0.1", port: authorityPort))
        )

        // The service: follows the feed over HTTP, reports watermarks over HTTP, Writ middleware in front.
        var httpConfiguration = HTTPClient.Configuration()
        httpConfiguration.redirectConfiguration = .disallow
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: httpConfiguration)
        let serviceClient = WritAuthorityClient(origin: authorityOrigin, httpClient: http, clock: world.clock)
        let service = try await world.service(
            maxStaleness: .seconds(5),
            store: HTTPRevocationFeed(client: serviceClient)
        )
        let follower = try RevocationFeedFollower(
            verifier: "repo",
            store: HTTPRevocationFeed(client: serviceClient),
            trustedKeys: [world.revocationKey.publicKey],
            snapshot: service.snapshot,
            clock: world.clock,
            reportSigner: world.serviceKey,
            watermarks: HTTPWatermarkReporter(client: serviceClient, key: world.serviceKey)
        )
        let serviceApp = Application(
            router: HTTPWorld.router(service.gatekeeper, maximumBodyBytes: 4096, origin: serviceOrigin),
            configuration: .init(address: .hostname("127.0.0.1", port: servicePort))
        )

        do {
            try await withLiveServers([authorityApp, serviceApp], ports: [authorityPort, servicePort]) {
                let agentClient = WritAuthorityClient(origin: authorityOrigin, httpClient: http, clock: world.clock)
                // The trust bundle, anonymously.
                let bundle = try await agentClient.trustBundle()
                #expect(bundle.issuers.key(for: world.issuerKey.publicKey.keyID) != nil)
                #expect(bundle.revocation.key(for: world.revocationKey.publicKey.keyID) != nil)

                // Attest over HTTP with a one-time join token.
                let join = try await world.attestor.issueJoinToken(for: world.agent, agentClass: "coder")
                let document = try await agentClient.attest(
                    join.evidence(signingKey: world.agentKey),
                    key: world.agentKey
                )
                #expect(document.identity == world.agent)
                #expect(document.publicKey == world.agentKey.publicKey)

                // Open a task and begin a step through the provider, over HTTP.
                let task = try await agentClient.openTask(
                    .init(objective: "fix the bug", intent: "fix-bug", deadlineSeconds: 600),
                    as: document,
                    key: world.agentKey
                )
                let provider = CredentialProvider(
                    identity: world.agent,
                    key: world.agentKey,
                    source: HTTPTokenSource(client: agentClient, identity: document, key: world.agentKey),
                    clock: world.clock,
                    refreshPolicy: .init(fraction: 0.75, jitter: 0, attempts: 1)
                )
                try await provider.begin(task: task, step: HTTPWorld.step)
                let firstToken = try #require(await provider.tokenID)

                // The service follows the feed over HTTP and calls succeed.
                try await world.publisher.publishHead()
                _ = try await follower.syncOnce()
                let first = try await callService(
                    http,
                    provider,
                    origin: serviceOrigin,
                    method: "POST",
                    target: "/repo/writ/a?x=1",
                    body: "hi"
                )
                #expect(first.status == 200, "\(first.body)")
                #expect(first.body == "\(world.agent) 2")

                // Refresh: 25 s into a 30 s token the provider refreshes over HTTP.
                world.clock.advance(by: .seconds(25))
                try await world.publisher.publishHead()
                _ = try await follower.syncOnce()
                let second = try await callService(
                    http,
                    provider,
                    origin: serviceOrigin,
                    method: "GET",
                    target: "/repo/writ/b"
                )
                #expect(second.status == 200, "\(second.body)")
                #expect(await provider.tokenID != firstToken)
                #expect(await provider.refreshes == 1)

                // The operator revokes the agent over HTTP; the follower syncs over HTTP; the next call is denied.
                try await agentClient.revoke(.init(agent: world.agent.description), operatorKey: world.operatorKey)
                try await world.publisher.publishHead()
                let sync = try await follower.syncOnce()
                #expect(sync.caughtUp)
                let denied = try await callService(
                    http,
                    provider,
                    origin: serviceOrigin,
                    method: "GET",
                    target: "/repo/writ/b"
                )
                #expect(denied.status == 401, "\(denied.body)")
                #expect(denied.refusal?.code == "revoked")
                #expect(denied.refusal?.retry == .reauthorize)

                // The revoked agent cannot get another token either.
                do {
                    _ = try await HTTPTokenSource(client: agentClient, identity: document, key: world.agentKey)
                        .issue(task: task, step: HTTPWorld.step)
                    Issue.record("a revoked agent got a token")
                } catch let error as WritHTTPError {
                    #expect(error.status == 401)
                    #expect(error.refusal?.code == "revoked")
                }

                // The watermark came back over HTTP, signed by the service's key, at the revocation's sequence.
                let reports = try await world.watermarks.reports()
                #expect(reports.first?.verifier == "repo")
                #expect(reports.first?.sequence == world.publisher.tip?.sequence)
                let proof = try await world.publisher.revocationProof(for: try #require(world.publisher.tip?.sequence))
                #expect(proof.isComplete)

                // An operator reads the authority's audit checkpoint.
                let checkpoint = try await agentClient.auditCheckpoint(operatorKey: world.operatorKey)
                #expect(checkpoint.contains("authority"))
            }
        } catch {
            try? await http.shutdown()
            throw error
        }
        try await http.shutdown()

        // Audit on both sides.
        let authorityKinds = try await world.authorityLog.entries(0..<world.authorityLog.size).map(\.event.kind)
        #expect(authorityKinds.contains(.issued))
        #expect(authorityKinds.contains(.refreshed))
        #expect(authorityKinds.contains(.revoked))
        let serviceKinds = try await service.log.entries(0..<service.log.size).map(\.event.kind)
        #expect(serviceKinds == [.used, .used, .denied])
    }
}
#endif
