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
import WritRevocation
import WritTesting
import WritTokens

@Suite("Gatekeeper middleware, router level: every denial code answered per the binding")
struct MiddlewareTests {
    /// Runs `body` against a router app over `service`'s gatekeeper.
    func withApp(
        _ service: HTTPWorld.Service,
        maximumBodyBytes: Int = 1024,
        _ body: @Sendable (any TestClientProtocol) async throws -> Void
    ) async throws {
        let app = Application(router: HTTPWorld.router(service.gatekeeper, maximumBodyBytes: maximumBodyBytes))
        try await app.test(.router, body)
    }

    func expectRefusal(
        _ response: TestResponse,
        _ status: Int,
        error: String?,
        code: String,
        retry: WritRefusal.Retry,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(Int(response.status.code) == status, "\(response.text)", sourceLocation: sourceLocation)
        let refusal = response.refusal
        #expect(refusal?.code == code, "\(response.text)", sourceLocation: sourceLocation)
        #expect(refusal?.error == error, sourceLocation: sourceLocation)
        #expect(refusal?.retry == retry, sourceLocation: sourceLocation)
        #expect(refusal?.isRetryable == (retry != .none), sourceLocation: sourceLocation)
        #expect(response.headers[.cacheControl] == "no-store", sourceLocation: sourceLocation)
        if status == 401 || status == 403 {
            let challenge = response.headers[.wwwAuthenticate] ?? ""
            #expect(challenge.hasPrefix("Writ realm=\"repo\""), sourceLocation: sourceLocation)
            if let error { #expect(challenge.contains("error=\"\(error)\""), sourceLocation: sourceLocation) }
        }
        if retry == .later { #expect(response.headers[.retryAfter] == "1", sourceLocation: sourceLocation) }
        #expect(
            !response.text.contains(/writ1_[A-Za-z0-9_-]{8,}/),
            "a refusal echoed the token",
            sourceLocation: sourceLocation
        )
    }

    @Test("a well-signed request is allowed, reaches the route with its grant and its body, and is audited")
    func allowed() async throws {
        let world = try await HTTPWorld()
        let service = try await world.service()
        let issued = try await world.issued()
        let headers = try world.signed(
            issued.token,
            key: world.agentKey,
            method: "POST",
            target: "/repo/writ/a?x=1",
            body: "hello"
        )
        try await withApp(service) { client in
            try await client.execute(
                uri: "/repo/writ/a?x=1",
                method: .post,
                headers: headers,
                body: ByteBuffer(string: "hello")
            ) { response in
                #expect(response.status == .ok)
                #expect(response.text == "\(world.agent) 5")
            }
        }
        let entries = try await service.log.entries(0..<service.log.size)
        #expect(entries.map(\.event.kind) == [.used])
        #expect(entries.first?.event.action == "post")
        #expect(entries.first?.event.resource == "repo/writ/a")
    }

    @Test("no credentials: 401 with a bare challenge")
    func noCredentials() async throws {
        let world = try await HTTPWorld()
        let service = try await world.service()
        try await withApp(service) { client in
            try await client.execute(uri: "/repo/writ/a", method: .get) { response in
                self.expectRefusal(response, 401, error: nil, code: "credentials-missing", retry: .none)
                #expect(response.headers[.wwwAuthenticate] == "Writ realm=\"repo\"")
            }
        }
    }

    @Test("a token in the wrong header or scheme: 400 malformed-header")
    func wrongHeader() async throws {
        let world = try await HTTPWorld()
        let service = try await world.service()
        let issued = try await world.issued()
        let signed = try world.signed(issued.token, key: world.agentKey, method: "GET", target: "/repo/writ/a")
        try await withApp(service) { client in
            var bearer = signed
            bearer[.authorization] = "Bearer \(issued.token.text)"
            var xkey = signed
            xkey[.authorization] = nil
            xkey[HTTPField.Name("X-Api-Key")!] = issued.token.text
            var twice = signed
            twice.append(HTTPField(name: .authorization, value: "Writ \(issued.token.text)"))
            for headers in [bearer, twice] {
                try await client.execute(uri: "/repo/writ/a", method: .get, headers: headers) { response in
                    self.expectRefusal(response, 400, error: "invalid_request", code: "malformed-header", retry: .none)
                }
            }
            try await client.execute(uri: "/repo/writ/a", method: .get, headers: xkey) { response in
                self.expectRefusal(response, 400, error: "invalid_request", code: "malformed-header", retry: .none)
            }
            try await client.execute(
                uri: "/repo/writ/a?access_token=\(issued.token.text)",
                method: .get,
                headers: signed
            ) {
                response in
                self.expectRefusal(response, 400, error: "invalid_request", code: "malformed-header", retry: .none)
            }
        }
    }

    @Test("garbage token and garbage proof: 401 invalid_token / invalid_proof")
    func garbage() async throws {
        let world = try await HTTPWorld()
        let service = try await world.service()
        let issued = try await world.issued()
        let signed = try world.signed(issued.token, key: world.agentKey, method: "GET", target: "/repo/writ/a")
        try await withApp(service) { client in
            var badToken = signed
            badToken[.authorization] = "Writ writ1_A"
            try await client.execute(uri: "/repo/writ/a", method: .get, headers: badToken) { response in
                self.expectRefusal(response, 401, error: "invalid_token", code: "malformed-token", retry: .none)
            }
            var forged = signed
            forged[.authorization] = "Writ writ1_" + String(repeating: "QUFB", count: 30)
            try await client.execute(uri: "/repo/writ/a", method: .get, headers: forged) { response in
                self.expectRefusal(response, 401, error: "invalid_token", code: "token-rejected", retry: .none)
            }
            var badProof = signed
            badProof[HTTPField.Name("Writ-Proof")!] = "writp1_AAAA"
            try await client.execute(uri: "/repo/writ/a", method: .get, headers: badProof) { response in
                self.expectRefusal(response, 401, error: "invalid_proof", code: "malformed-proof", retry: .newProof)
            }
            var noProof = signed
            noProof[HTTPField.Name("Writ-Proof")!] = nil
            try await client.execute(uri: "/repo/writ/a", method: .get, headers: noProof) { response in
                self.expectRefusal(response, 401, error: "invalid_proof", code: "malformed-proof", retry: .newProof)
            }
        }
    }

    @Test(
        "a proof for another method, URL, query, body or origin, or by another key: 401 invalid_proof",
        arguments: ["method", "path", "query", "body", "origin", "key"]
    )
    func proofForSomethingElse(_ what: String) async throws {
        let world = try await HTTPWorld()
        let service = try await world.service()
        let issued = try await world.issued()
        let headers: HTTPFields
        switch what {
        case "method":
            headers = try world.signed(
                issued.token,
                key: world.agentKey,
                method: "POST",
                target: "/repo/writ/a",
                signFor: ("PUT", "/repo/writ/a", "x")
            )
        case "path":
            headers = try world.signed(
                issued.token,
                key: world.agentKey,
                method: "POST",
                target: "/repo/writ/a",
                signFor: ("POST", "/repo/writ/b", "x")
            )
        case "query":
            headers = try world.signed(
                issued.token,
                key: world.agentKey,
                method: "POST",
                target: "/repo/writ/a",
                signFor: ("POST", "/repo/writ/a?admin=1", "x")
            )
        case "body":
            headers = try world.signed(
                issued.token,
                key: world.agentKey,
                method: "POST",
                target: "/repo/writ/a",
                signFor: ("POST", "/repo/writ/a", "y")
            )
        case "origin":
            headers = try world.signed(
                issued.token,
                key: world.agentKey,
                method: "POST",
                target: "/repo/writ/a",
                body: "x",
                origin: try WritOrigin("https://other.test")
            )
        default:
            headers = try world.signed(
                issued.token,
                key: Ed25519.PrivateKey(),
                method: "POST",
                target: "/repo/writ/a",
                body: "x"
            )
        }
        try await withApp(service) { client in
            try await client.execute(
                uri: "/repo/writ/a",
                method: .post,
                headers: headers,
                body: ByteBuffer(string: "x")
            ) {
                response in
                self.expectRefusal(response, 401, error: "invalid_proof", code: "token-rejected", retry: .newProof)
                #expect(response.refusal?.tokenError == "proofInvalid")
            }
        }
    }

    @Test("a replayed proof: 401 invalid_proof, replayed")
    func replayed() async throws {
        let world = try await HTTPWorld()
        let service = try await world.service()
        let issued = try await world.issued()
        let headers = try world.signed(issued.token, key: world.agentKey, method: "GET", target: "/repo/writ/a")
        try await withApp(service) { client in
            try await client.execute(uri: "/repo/writ/a", method: .get, headers: headers) { #expect($0.status == .ok) }
            try await client.execute(uri: "/repo/writ/a", method: .get, headers: headers) { response in
                self.expectRefusal(response, 401, error: "invalid_proof", code: "replayed", retry: .newProof)
            }
        }
    }

    @Test("a proof too old or from the future: 401 invalid_proof (new-proof); an expired token: 401 (refresh)")
    func staleAndExpired() async throws {
        let world = try await HTTPWorld()
        let service = try await world.service(maxStaleness: .seconds(600))
        let issued = try await world.issued()
        let old = try HTTPWorld.signedAt(world, issued.token, at: world.clock.now().advanced(by: .seconds(-100)))
        let future = try HTTPWorld.signedAt(world, issued.token, at: world.clock.now().advanced(by: .seconds(100)))
        try await withApp(service) { client in
            for headers in [old, future] {
                try await client.execute(uri: "/repo/writ/a", method: .get, headers: headers) { response in
                    self.expectRefusal(response, 401, error: "invalid_proof", code: "token-rejected", retry: .newProof)
                    #expect(response.refusal?.tokenError == "proofStale")
                }
            }
            world.clock.advance(by: .seconds(70))  // past the 30 s expiry plus the 30 s clock skew
            try await self.publisherSync(world, service)
            let late = try HTTPWorld.signedAt(world, issued.token, at: world.clock.now())
            try await client.execute(uri: "/repo/writ/a", method: .get, headers: late) { response in
                self.expectRefusal(response, 401, error: "invalid_token", code: "token-rejected", retry: .refresh)
                #expect(response.refusal?.tokenError == "expired")
            }
        }
    }

    func publisherSync(_ world: HTTPWorld, _ service: HTTPWorld.Service) async throws {
        try await world.publisher.publishHead()
        _ = try await service.follower.syncOnce()
    }

    @Test("outside the token's scope: 403 insufficient_scope; policy: 403 access_denied; checkpoint: 403")
    func scopeAndPolicy() async throws {
        let world = try await HTTPWorld()
        let service = try await world.service()
        let issued = try await world.issued()
        try await withApp(service) { client in
            let outside = try world.signed(issued.token, key: world.agentKey, method: "GET", target: "/repo/other/a")
            try await client.execute(uri: "/repo/other/a", method: .get, headers: outside) { response in
                self.expectRefusal(
                    response,
                    403,
                    error: "insufficient_scope",
                    code: "token-rejected",
                    retry: .reauthorize
                )
                #expect(response.refusal?.tokenError == "resourceNotAllowed")
            }
            let secret = try world.signed(issued.token, key: world.agentKey, method: "GET", target: "/repo/writ/secret")
            try await client.execute(uri: "/repo/writ/secret", method: .get, headers: secret) { response in
                self.expectRefusal(response, 403, error: "access_denied", code: "policy", retry: .none)
                #expect(response.refusal?.policies.isEmpty == false)
            }
            let merge = try world.signed(issued.token, key: world.agentKey, method: "POST", target: "/repo/writ/merge")
            try await client.execute(uri: "/repo/writ/merge", method: .post, headers: merge) { response in
                self.expectRefusal(
                    response,
                    403,
                    error: "reauthorization_required",
                    code: "reauthorization-required",
                    retry: .approval
                )
            }
        }
    }

    @Test("an oversized resource: 400 malformed-request; an oversized body: 413")
    func oversized() async throws {
        let world = try await HTTPWorld()
        let service = try await world.service()
        let issued = try await world.issued()
        let long = "/repo/writ/" + String(repeating: "a", count: 1100)
        let longHeaders = try world.signed(issued.token, key: world.agentKey, method: "GET", target: long)
        let big = String(repeating: "b", count: 2000)
        let bigHeaders = try world.signed(
            issued.token,
            key: world.agentKey,
            method: "POST",
            target: "/repo/writ/a",
            body: big
        )
        try await withApp(service) { client in
            try await client.execute(uri: long, method: .get, headers: longHeaders) { response in
                self.expectRefusal(response, 400, error: "invalid_request", code: "malformed-request", retry: .none)
            }
            try await client.execute(
                uri: "/repo/writ/a",
                method: .post,
                headers: bigHeaders,
                body: ByteBuffer(string: big)
            ) {
                response in
                self.expectRefusal(response, 413, error: "invalid_request", code: "body-too-large", retry: .none)
            }
        }
    }

    @Test("revoked: 401 invalid_token, reauthorize; stale revocation data: 503, later")
    func revokedAndStale() async throws {
        let world = try await HTTPWorld()
        let service = try await world.service()
        let issued = try await world.issued()
        try await world.authority.revoke(block: issued.revocationID)
        try await publisherSync(world, service)
        let headers = try world.signed(issued.token, key: world.agentKey, method: "GET", target: "/repo/writ/a")
        try await withApp(service) { client in
            try await client.execute(uri: "/repo/writ/a", method: .get, headers: headers) { response in
                self.expectRefusal(response, 401, error: "invalid_token", code: "revoked", retry: .reauthorize)
            }
        }
        let other = try await HTTPWorld()
        let stale = try await other.service(maxStaleness: .seconds(5))
        let token = try await other.issued()
        other.clock.advance(by: .seconds(10))
        let late = try other.signed(token.token, key: other.agentKey, method: "GET", target: "/repo/writ/a")
        try await withApp(stale) { client in
            try await client.execute(uri: "/repo/writ/a", method: .get, headers: late) { response in
                self.expectRefusal(
                    response,
                    503,
                    error: "temporarily_unavailable",
                    code: "revocation-unavailable",
                    retry: .later
                )
            }
        }
    }

    @Test("nonce store down: 503 nonce-store-unavailable; audit log down: 503 audit-unavailable")
    func storesDown() async throws {
        let world = try await HTTPWorld()
        let issued = try await world.issued()
        let noNonces = try await world.service(nonces: HTTPWorld.FailingNonces())
        let noAudit = try await world.service(audit: HTTPWorld.FailingAudit())
        let a = try world.signed(issued.token, key: world.agentKey, method: "GET", target: "/repo/writ/a")
        let b = try world.signed(issued.token, key: world.agentKey, method: "GET", target: "/repo/writ/b")
        try await withApp(noNonces) { client in
            try await client.execute(uri: "/repo/writ/a", method: .get, headers: a) { response in
                self.expectRefusal(
                    response,
                    503,
                    error: "temporarily_unavailable",
                    code: "nonce-store-unavailable",
                    retry: .later
                )
            }
        }
        try await withApp(noAudit) { client in
            try await client.execute(uri: "/repo/writ/b", method: .get, headers: b) { response in
                self.expectRefusal(
                    response,
                    503,
                    error: "temporarily_unavailable",
                    code: "audit-unavailable",
                    retry: .later
                )
            }
        }
    }

    @Test("every denial code maps to a status, an error and a retry; unknown codes never suggest a retry")
    func mappingTable() {
        let cases: [(GateDenial.Code, TokenError.Code?, Int, WritRefusal.Retry)] = [
            (.malformedRequest, nil, 400, .none), (.malformedToken, nil, 401, .none),
            (.malformedProof, nil, 401, .newProof), (.tokenRejected, .expired, 401, .refresh),
            (.tokenRejected, .invalidSignature, 401, .none), (.tokenRejected, .actionNotAllowed, 403, .reauthorize),
            (.revoked, nil, 401, .reauthorize), (.revocationUnavailable, nil, 503, .later),
            (.replayed, nil, 401, .newProof), (.nonceStoreUnavailable, nil, 503, .later), (.policy, nil, 403, .none),
            (.auditUnavailable, nil, 503, .later),
        ]
        for (code, tokenError, status, retry) in cases {
            let json =
                #"{"code":"\#(code)","policies":[],"message":"m""#
                + (tokenError.map { #","token_error":"\#($0)"}"# } ?? "}")
            guard let denial = try? JSONDecoder().decode(GateDenial.self, from: Data(json.utf8)) else {
                Issue.record("\(json) does not decode")
                continue
            }
            let refusal = WritRefusal(denial)
            #expect(refusal.status == status, "\(code)")
            #expect(refusal.retry == retry, "\(code)")
            #expect(refusal.code == code.description)
        }
        let quoted = WritRefusal(status: 401, error: "invalid_token", code: "x", message: "a \"q\" \\ \n", retry: .none)
        #expect(
            quoted.challenge(realm: "r\"")
                == #"Writ realm="r\"", error="invalid_token", error_description="a \"q\" \\ ?", retry="none""#
        )
    }
}

extension HTTPWorld {
    /// Headers for `GET /repo/writ/a` with a proof dated `time`.
    static func signedAt(_ world: HTTPWorld, _ token: CapabilityToken, at time: Timestamp) throws -> HTTPFields {
        let fields = try WritHTTPSigner.headerFields(
            credential: .token(token),
            key: world.agentKey,
            request: TokenRequest(audience: "repo", action: "get", resource: "repo/writ/a"),
            method: "GET",
            origin: serviceOrigin,
            target: "/repo/writ/a",
            body: [],
            at: time
        )
        var headers = HTTPFields()
        for field in fields { headers.append(HTTPField(name: HTTPField.Name(field.name)!, value: field.value)) }
        return headers
    }
}
#endif
