#if HTTP
import AsyncHTTPClient
import Foundation
import Hummingbird
import HummingbirdTesting
import HTTPTypes
import NIOCore
import NIOHTTP1
import Synchronization
import Testing
import Writ
import WritCrypto
import WritHTTP
import WritHummingbird
import WritTesting
import WritTokens

@Suite("The broker as a reverse proxy in front of a static-key API, live on loopback")
struct BrokerProxyTests {
    @Test("the agent presents a Writ token; upstream gets the sealed key; the agent never sees it")
    func proxies() async throws {
        let world = try await HTTPWorld()
        let upstreamPort = freeLoopbackPort()
        let proxyPort = freeLoopbackPort()
        let proxyOrigin = try WritOrigin("http://127.0.0.1:\(proxyPort)")

        // The legacy API: answers only with the static key, and echoes the key in its body and a header to show
        // the proxy cannot stop an API that leaks (the header is dropped; the body is the API's business).
        let upstream = Router()
        upstream.get("/repo/writ/**") { request, _ -> Response in
            let auth = request.headers[.authorization] ?? ""
            guard auth == "Bearer sk-legacy-123" else { return Response(status: .unauthorized) }
            var headers = HTTPFields()
            headers[HTTPField.Name("X-Echo")!] = auth
            headers[HTTPField.Name("X-Saw-Writ-Proof")!] =
                request.headers[HTTPField.Name("Writ-Proof")!] == nil ? "no" : "yes"
            return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: "ok")))
        }
        let upstreamApp = Application(
            router: upstream,
            configuration: .init(address: .hostname("127.0.0.1", port: upstreamPort))
        )

        let service = try await world.service()
        let broker = try CredentialBroker(
            gatekeeper: service.gatekeeper,
            secret: SecureBytes(Array("sk-legacy-123".utf8)),
            sealingKey: SecretBox.makeKey()
        )
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        let proxy = WritBrokerProxy(
            broker: broker,
            client: http,
            configuration: .init(origin: proxyOrigin, upstream: "http://127.0.0.1:\(upstreamPort)")
        )
        let proxyRouter = Router()
        proxy.add(to: proxyRouter)
        let proxyApp = Application(
            router: proxyRouter,
            configuration: .init(address: .hostname("127.0.0.1", port: proxyPort))
        )

        let issued = try await world.issued()
        try await world.publisher.publishHead()
        _ = try await service.follower.syncOnce()

        do {
            try await withLiveServers([upstreamApp, proxyApp], ports: [upstreamPort, proxyPort]) {
                func call(_ target: String) async throws -> HTTPClientResponse {
                    let mapped = try WritRouteMap().map(method: "GET", target: target)
                    var request = HTTPClientRequest(url: proxyOrigin.description + target)
                    for field in try WritHTTPSigner.headerFields(
                        credential: .token(issued.token),
                        key: world.agentKey,
                        request: TokenRequest(audience: "repo", action: mapped.action, resource: mapped.resource),
                        method: "GET",
                        origin: proxyOrigin,
                        target: target,
                        body: [],
                        at: world.clock.now()
                    ) {
                        request.headers.add(name: field.name, value: field.value)
                    }
                    return try await http.execute(request, timeout: .seconds(10))
                }
                // No session for the task yet: refused by the broker, never forwarded.
                let outside = try await call("/repo/writ/a")
                #expect(outside.status.code == 403)
                _ = try await outside.body.collect(upTo: 1 << 16)

                await broker.openSession(task: issued.taskID, scope: .init(operations: ["get"], rateLimit: 1))
                let response = try await call("/repo/writ/a")
                let body = String(buffer: try await response.body.collect(upTo: 1 << 16))
                #expect(response.status.code == 200, "\(body)")
                #expect(body == "ok")
                #expect(response.headers["X-Echo"].isEmpty, "a header echoing the key reached the agent")
                #expect(response.headers["X-Saw-Writ-Proof"] == ["no"])
                #expect(!response.headers.contains { $0.value.contains("sk-legacy") })

                // The session's rate limit, then a revocation, stop it.
                let limited = try await call("/repo/writ/b")
                #expect(limited.status.code == 429)
                _ = try await limited.body.collect(upTo: 1 << 16)
                try await world.authority.revoke(block: issued.revocationID)
                try await world.publisher.publishHead()
                _ = try await service.follower.syncOnce()
                let revoked = try await call("/repo/writ/c")
                let refusal = try JSONDecoder().decode(
                    WritRefusal.self,
                    from: Data(try await revoked.body.collect(upTo: 1 << 16).readableBytesView)
                )
                #expect(revoked.status.code == 401)
                #expect(refusal.code == "revoked")
            }
        } catch {
            try? await http.shutdown()
            throw error
        }
        try await http.shutdown()
    }

    @Test("a sealed key that is not a valid header value is never sent; a dead upstream is 502; outside a session 403")
    func unusableSecretAndDeadUpstream() async throws {
        let world = try await HTTPWorld()
        let upstreamPort = freeLoopbackPort()
        let proxyPort = freeLoopbackPort()
        let deadPort = freeLoopbackPort()
        let proxyOrigin = try WritOrigin("http://127.0.0.1:\(proxyPort)")
        let calls = Mutex(0)
        let upstream = Router()
        upstream.get("/repo/writ/**") { _, _ -> String in
            calls.withLock { $0 += 1 }
            return "upstream"
        }
        let upstreamApp = Application(
            router: upstream,
            configuration: .init(address: .hostname("127.0.0.1", port: upstreamPort))
        )
        let service = try await world.service()
        // 0xFF cannot travel in a header unchanged (it would be sent as U+FFFD, a different key); CR LF would inject.
        let badKey = try CredentialBroker(
            gatekeeper: service.gatekeeper,
            secret: SecureBytes([0x73, 0x6B, 0x2D, 0xFF]),
            sealingKey: SecretBox.makeKey()
        )
        let injecting = try CredentialBroker(
            gatekeeper: service.gatekeeper,
            secret: SecureBytes(Array("sk\r\nX-Injected: 1".utf8)),
            sealingKey: SecretBox.makeKey()
        )
        let good = try CredentialBroker(
            gatekeeper: service.gatekeeper,
            secret: SecureBytes(Array("sk-legacy-123".utf8)),
            sealingKey: SecretBox.makeKey()
        )
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        let issued = try await world.issued()
        try await world.publisher.publishHead()
        _ = try await service.follower.syncOnce()
        for broker in [badKey, injecting, good] {
            await broker.openSession(task: issued.taskID, scope: .init(operations: ["get"], rateLimit: 100))
        }
        let outsider = try CredentialBroker(
            gatekeeper: service.gatekeeper,
            secret: SecureBytes(Array("sk-legacy-123".utf8)),
            sealingKey: SecretBox.makeKey()
        )
        func proxy(_ broker: CredentialBroker, upstream port: Int) -> WritBrokerProxy {
            WritBrokerProxy(
                broker: broker,
                client: http,
                configuration: .init(origin: proxyOrigin, upstream: "http://127.0.0.1:\(port)", timeout: .seconds(2))
            )
        }
        let cases: [(WritBrokerProxy, Int, String)] = [
            (proxy(badKey, upstream: upstreamPort), 503, "secret-unusable"),
            (proxy(injecting, upstream: upstreamPort), 503, "secret-unusable"),
            (proxy(good, upstream: deadPort), 502, "upstream-failed"),
            (proxy(outsider, upstream: upstreamPort), 403, "outside-session"),
        ]
        do {
            try await withLiveServers([upstreamApp], ports: [upstreamPort]) {
                for (index, (proxy, status, code)) in cases.enumerated() {
                    let router = Router()
                    proxy.add(to: router)
                    let target = "/repo/writ/a?\(index)"
                    let headers = try world.signed(
                        issued.token,
                        key: world.agentKey,
                        method: "GET",
                        target: target,
                        origin: proxyOrigin
                    )
                    try await Application(router: router).test(.router) { client in
                        try await client.execute(uri: target, method: .get, headers: headers) { response in
                            #expect(Int(response.status.code) == status, "\(code): \(response.text)")
                            #expect(response.refusal?.code == code)
                            #expect(!response.text.contains("sk-legacy") && !response.text.contains("Injected"))
                        }
                    }
                }
            }
        } catch {
            try? await http.shutdown()
            throw error
        }
        try await http.shutdown()
        #expect(calls.withLock { $0 } == 0, "upstream was called with an unusable key")
    }
}
#endif
