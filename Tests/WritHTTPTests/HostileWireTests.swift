#if HTTP
import AsyncHTTPClient
import Foundation
import Hummingbird
import NIOCore
import NIOHTTP1
import Testing
import Writ
import WritCrypto
import WritHTTP
import WritHummingbird
import WritIdentity
import WritTesting
import WritTokens

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@Suite("Hostile input over real HTTP on loopback: right status, nothing crashes")
struct HostileWireTests {
    @Test(
        "oversized headers and bodies, wrong headers, garbage, replayed, unbound and misdirected proofs, a slow client"
    )
    func hostileWire() async throws {
        let world = try await HTTPWorld()
        let authorityPort = freeLoopbackPort()
        let servicePort = freeLoopbackPort()
        let authorityOrigin = try WritOrigin("http://127.0.0.1:\(authorityPort)")
        let serviceOrigin = try WritOrigin("http://127.0.0.1:\(servicePort)")
        let routes = WritAuthorityRoutes(
            authority: world.authority,
            publisher: world.publisher,
            configuration: .init(
                authenticator: WritCallerAuthenticator(
                    origin: authorityOrigin,
                    audience: "writ-authority",
                    issuers: TrustBundle(trusting: world.issuerKey.publicKey),
                    operatorKeys: [world.operatorKey.publicKey],
                    serviceKeys: [:],
                    clock: world.clock
                )
            )
        )
        let authorityRouter = Router(context: WritBasicRequestContext.self)
        routes.add(to: authorityRouter)
        let authorityApp = Application(
            router: authorityRouter,
            configuration: .init(address: .hostname("127.0.0.1", port: authorityPort))
        )
        let service = try await world.service(maxStaleness: .seconds(600))
        let serviceApp = Application(
            router: HTTPWorld.router(service.gatekeeper, maximumBodyBytes: 4096, origin: serviceOrigin),
            configuration: .init(address: .hostname("127.0.0.1", port: servicePort))
        )
        let issued = try await world.issued()
        let document = try await world.attest(world.other, key: world.otherKey)

        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)

        do {
            try await withLiveServers([authorityApp, serviceApp], ports: [authorityPort, servicePort]) {
                func call(
                    _ origin: WritOrigin,
                    _ method: HTTPMethod,
                    _ target: String,
                    headers: [(String, String)],
                    body: [UInt8] = []
                ) async throws -> (Int, WritRefusal?) {
                    var request = HTTPClientRequest(url: origin.description + target)
                    request.method = method
                    for (name, value) in headers { request.headers.add(name: name, value: value) }
                    if !body.isEmpty { request.body = .bytes(body) }
                    let response = try await http.execute(request, timeout: .seconds(10))
                    let bytes = try await response.body.collect(upTo: 1 << 20)
                    return (
                        Int(response.status.code),
                        try? JSONDecoder().decode(WritRefusal.self, from: Data(bytes.readableBytesView))
                    )
                }
                func signed(
                    _ method: String,
                    _ target: String,
                    body: String = "",
                    origin: WritOrigin = serviceOrigin,
                    credential: WritCredential? = nil,
                    key: Ed25519.PrivateKey? = nil,
                    audience: String = "repo"
                ) throws -> [(String, String)] {
                    let mapped = try WritRouteMap().map(method: method, target: target)
                    return try WritHTTPSigner.headerFields(
                        credential: credential ?? .token(issued.token),
                        key: key ?? world.agentKey,
                        request: TokenRequest(audience: audience, action: mapped.action, resource: mapped.resource),
                        method: method,
                        origin: origin,
                        target: target,
                        body: Array(body.utf8),
                        at: world.clock.now()
                    ).map { ($0.name, $0.value) }
                }

                // A good call works.
                #expect(
                    try await call(serviceOrigin, .GET, "/repo/writ/a", headers: try signed("GET", "/repo/writ/a")).0
                        == 200
                )

                // A slow client holding a half-sent request does not block anyone.
                let slow = try openRawConnection(port: servicePort)
                defer { close(slow) }
                _ = "GET /repo/writ/a HTTP/1.1\r\nHost: x\r\nAuthor".withCString {
                    Glibc.send(slow, $0, strlen($0), Int32(MSG_NOSIGNAL))
                }
                #expect(
                    try await call(serviceOrigin, .GET, "/repo/writ/b", headers: try signed("GET", "/repo/writ/b")).0
                        == 200
                )

                // Oversized header block: refused by the server, which keeps serving.
                let huge =
                    "GET /repo/writ/a HTTP/1.1\r\nHost: x\r\nX-Big: \(String(repeating: "a", count: 200_000))\r\n\r\n"
                let answer = try await rawExchange(port: servicePort, Array(huge.utf8))
                #expect(answer.hasPrefix("HTTP/1.1 4") || answer == "closed", "\(answer)")
                let bigHeader = [("X-Big", String(repeating: "b", count: 40_000))] + (try signed("GET", "/repo/writ/c"))
                let (bigHeaderStatus, _) = try await call(serviceOrigin, .GET, "/repo/writ/c", headers: bigHeader)
                #expect(bigHeaderStatus == 400)

                // Oversized bodies: 413 at the service and at the authority.
                let body = String(repeating: "x", count: 10_000)
                let (serviceBig, serviceRefusal) = try await call(
                    serviceOrigin,
                    .POST,
                    "/repo/writ/d",
                    headers: try signed("POST", "/repo/writ/d", body: body),
                    body: Array(body.utf8)
                )
                #expect(serviceBig == 413)
                #expect(serviceRefusal?.code == "body-too-large")
                let authorityBody = String(repeating: "y", count: 100_000)
                let (authorityBig, _) = try await call(
                    authorityOrigin,
                    .POST,
                    "/v1/tasks",
                    headers: try signed(
                        "POST",
                        "/v1/tasks",
                        body: authorityBody,
                        origin: authorityOrigin,
                        credential: .identity(document),
                        key: world.otherKey,
                        audience: "writ-authority"
                    ),
                    body: Array(authorityBody.utf8)
                )
                #expect(authorityBig == 413)

                // The token in the wrong header or scheme.
                #expect(
                    try await call(
                        serviceOrigin,
                        .GET,
                        "/repo/writ/e",
                        headers: [("Authorization", "Bearer \(issued.token.text)")]
                    ).0 == 400
                )
                #expect(
                    try await call(serviceOrigin, .GET, "/repo/writ/e", headers: [("X-Token", issued.token.text)]).0
                        == 400
                )

                // Garbage proofs.
                for proof in [
                    "writp1_AAAA", "writp1_" + String(repeating: "_", count: 119),
                    "writp1_" + String(repeating: "A", count: 200),
                ] {
                    var headers = try signed("GET", "/repo/writ/f")
                    headers[1].1 = proof
                    let (status, refusal) = try await call(serviceOrigin, .GET, "/repo/writ/f", headers: headers)
                    #expect(status == 401 || status == 400, "\(proof)")
                    #expect(refusal != nil)
                }

                // A replayed proof.
                let once = try signed("GET", "/repo/writ/g")
                #expect(try await call(serviceOrigin, .GET, "/repo/writ/g", headers: once).0 == 200)
                let replay = try await call(serviceOrigin, .GET, "/repo/writ/g", headers: once)
                #expect(replay.0 == 401)
                #expect(replay.1?.code == "replayed")

                // A proof for another URL, another method, another origin; an unbound proof.
                let otherURL = try signed("GET", "/repo/writ/other")
                #expect(
                    try await call(serviceOrigin, .GET, "/repo/writ/h", headers: otherURL).1?.tokenError
                        == "proofInvalid"
                )
                let otherMethod = try signed("PUT", "/repo/writ/h")
                #expect(
                    try await call(serviceOrigin, .GET, "/repo/writ/h", headers: otherMethod).1?.tokenError
                        == "proofInvalid"
                )
                let otherOrigin = try signed("GET", "/repo/writ/h", origin: authorityOrigin)
                #expect(
                    try await call(serviceOrigin, .GET, "/repo/writ/h", headers: otherOrigin).1?.tokenError
                        == "proofInvalid"
                )
                let unbound = ProofOfPossession.sign(
                    token: issued.token,
                    request: TokenRequest(audience: "repo", action: "get", resource: "repo/writ/h"),
                    holderKey: world.agentKey,
                    at: world.clock.now()
                )
                let unboundHeaders = [("Authorization", "Writ \(issued.token.text)"), ("Writ-Proof", unbound.text)]
                let (unboundStatus, unboundRefusal) = try await call(
                    serviceOrigin,
                    .GET,
                    "/repo/writ/h",
                    headers: unboundHeaders
                )
                #expect(unboundStatus == 401)
                #expect(unboundRefusal?.tokenError == "proofInvalid")

                // The authority: a capability token is not an agent credential; a proof for the service is not one
                // for the authority.
                let tokenAtAuthority = try signed(
                    "POST",
                    "/v1/tasks",
                    body: "{}",
                    origin: authorityOrigin,
                    audience: "writ-authority"
                )
                #expect(
                    try await call(
                        authorityOrigin,
                        .POST,
                        "/v1/tasks",
                        headers: tokenAtAuthority,
                        body: Array("{}".utf8)
                    ).0 == 401
                )
                let forService = try signed(
                    "POST",
                    "/v1/tasks",
                    body: "{}",
                    origin: serviceOrigin,
                    credential: .identity(document),
                    key: world.otherKey
                )
                let misdirected = try await call(
                    authorityOrigin,
                    .POST,
                    "/v1/tasks",
                    headers: forService,
                    body: Array("{}".utf8)
                )
                #expect(misdirected.0 == 401)
                #expect(misdirected.1?.code == "proof-invalid")

                // Still serving.
                #expect(
                    try await call(serviceOrigin, .GET, "/repo/writ/z", headers: try signed("GET", "/repo/writ/z")).0
                        == 200
                )
            }
        } catch {
            try? await http.shutdown()
            throw error
        }
        try await http.shutdown()
    }
}

/// Opens a TCP connection to 127.0.0.1:`port`.
func openRawConnection(port: Int) throws -> Int32 {
    #if canImport(Glibc)
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    #else
    let fd = socket(AF_INET, SOCK_STREAM, 0)
    #endif
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    }
    guard connected == 0 else {
        close(fd)
        throw WritHTTPError(.transport, "cannot connect to \(port)")
    }
    return fd
}
#endif
