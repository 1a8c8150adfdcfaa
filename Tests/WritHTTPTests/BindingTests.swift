#if HTTP
import Testing
import Writ
import WritCrypto
import WritHTTP
import WritTokens

@Suite("HTTP binding: headers, origin, request digest, route mapping")
struct BindingTests {
    static let token = "writ1_" + String(repeating: "A", count: 40)

    func headers(_ pairs: [(String, String)]) -> [(name: String, value: String)] {
        pairs.map { (name: $0.0, value: $0.1) }
    }

    @Test("a Writ credential and proof are read from their headers, case-insensitively")
    func readsHeaders() throws {
        let p = try WritPresentation(
            headers: headers([("authorization", "writ \(Self.token)"), ("WRIT-PROOF", "  writp1_abc ")])
        )
        #expect(p.credential == Self.token)
        #expect(p.proof == "writp1_abc")
        #expect(!"\(p)".contains("writ1_"))
    }

    @Test("no Authorization header is credentials-missing; a missing proof is not a parse error")
    func missing() throws {
        #expect(throws: WritHTTPError.self) { try WritPresentation(headers: headers([("Accept", "*/*")])) }
        do {
            _ = try WritPresentation(headers: headers([]))
            Issue.record("accepted no headers")
        } catch {
            #expect(error.code == .credentialsMissing)
        }
        let p = try WritPresentation(headers: headers([("Authorization", "Writ \(Self.token)")]))
        #expect(p.proof == nil)
    }

    @Test(
        "hostile headers are malformed-header",
        arguments: [
            [("Authorization", "Writ \(BindingTests.token)"), ("Authorization", "Writ \(BindingTests.token)")],
            [("Authorization", "Writ \(BindingTests.token)"), ("Writ-Proof", "writp1_a"), ("writ-proof", "writp1_b")],
            [("Authorization", "Bearer \(BindingTests.token)")],
            [("Authorization", "Basic dXNlcjpwYXNz")],
            [("Authorization", "Writ")],
            [("Authorization", "Writ ")],
            [("Authorization", "Writ \(BindingTests.token) extra")],
            [("Authorization", "Writ abc_notaprefix")],
            [("Authorization", "Writ writ1_a\u{0}b")],
            [("Authorization", "Writ " + "writ1_" + String(repeating: "A", count: 17_000))],
            [
                ("Authorization", "Writ \(BindingTests.token)"),
                ("Writ-Proof", "writp1_" + String(repeating: "A", count: 300)),
            ],
            [("Authorization", "Writ \(BindingTests.token)"), ("Writ-Proof", "")],
            [("Authorization", "Writ \(BindingTests.token)"), ("Writ-Proof", BindingTests.token)],
            [("Writ-Proof", BindingTests.token)],
            [("X-Api-Key", BindingTests.token)],
            [("Cookie", "session=\(BindingTests.token)"), ("Authorization", "Writ \(BindingTests.token)")],
            [("Authorization", "Writ \(BindingTests.token)"), ("X-Big", String(repeating: "x", count: 40_000))],
        ]
    )
    func hostileHeaders(_ pairs: [(String, String)]) {
        do {
            _ = try WritPresentation(headers: headers(pairs))
            Issue.record("accepted \(pairs.map(\.0))")
        } catch {
            #expect(error.code == .malformedHeader)
        }
    }

    @Test("a token in the query string is refused")
    func tokenInQuery() {
        do {
            _ = try WritPresentation(
                headers: headers([("Authorization", "Writ \(Self.token)")]),
                query: "access_token=\(Self.token)"
            )
            Issue.record("accepted a token in the query")
        } catch {
            #expect(error.code == .malformedHeader)
        }
    }

    @Test("origins are canonical: lower case, default port dropped; bad origins refused")
    func origins() throws {
        #expect(try WritOrigin("HTTPS://API.Example:443/").description == "https://api.example")
        #expect(try WritOrigin("http://127.0.0.1:8080").description == "http://127.0.0.1:8080")
        #expect(try WritOrigin("http://h:80").description == "http://h")
        #expect(try WritOrigin("http://[::1]:9").description == "http://[::1]:9")
        for bad in [
            "ftp://h", "h:80", "http://", "http://u@h", "http://h/p", "http://h:0", "http://h:99999", "http://h:x",
        ] {
            #expect(throws: WritHTTPError.self, "\(bad)") { try WritOrigin(bad) }
        }
    }

    @Test("the request digest is pinned (a vector another implementation can check)")
    func digestVector() throws {
        let origin = try WritOrigin("https://repo.example")
        let digest = try WritHTTPRequestDigest.digest(
            method: "POST",
            origin: origin,
            target: "/repo/writ/README?ref=main",
            bodyDigest: WritHTTPRequestDigest.bodyDigest(Array("hello".utf8))
        )
        // SHA-256("writ.http-request.v1\0" ‖ 00 04 "POST" ‖ 00 2e "https://repo.example/repo/writ/README?ref=main"
        //         ‖ SHA-256("hello"))
        var expected = SHA256()
        expected.update(Array("writ.http-request.v1\0".utf8))
        expected.update([0, 4])
        expected.update(Array("POST".utf8))
        let uri = Array("https://repo.example/repo/writ/README?ref=main".utf8)
        expected.update([0, UInt8(uri.count)])
        expected.update(uri)
        expected.update(SHA256.hash(Array("hello".utf8)))
        #expect(digest == expected.finalize())
        #expect(
            Hex.encode(WritHTTPRequestDigest.bodyDigest([]))
                == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        )
    }

    @Test("each of method, origin, path, query and body changes the digest")
    func digestCoversEverything() throws {
        let a = try WritOrigin("https://a.example")
        let b = try WritOrigin("https://b.example")
        let empty = WritHTTPRequestDigest.bodyDigest([])
        let base = try WritHTTPRequestDigest.digest(method: "GET", origin: a, target: "/x?q=1", bodyDigest: empty)
        let variants = [
            try WritHTTPRequestDigest.digest(method: "POST", origin: a, target: "/x?q=1", bodyDigest: empty),
            try WritHTTPRequestDigest.digest(method: "GET", origin: b, target: "/x?q=1", bodyDigest: empty),
            try WritHTTPRequestDigest.digest(method: "GET", origin: a, target: "/y?q=1", bodyDigest: empty),
            try WritHTTPRequestDigest.digest(method: "GET", origin: a, target: "/x?q=2", bodyDigest: empty),
            try WritHTTPRequestDigest.digest(
                method: "GET",
                origin: a,
                target: "/x?q=1",
                bodyDigest: WritHTTPRequestDigest.bodyDigest([1])
            ),
        ]
        for v in variants { #expect(v != base) }
    }

    @Test("targets that are not origin-form paths are malformed-request")
    func badTargets() throws {
        let o = try WritOrigin("https://a.example")
        for target in ["", "x", "http://evil/x", "/a b", "/a#f", "/" + String(repeating: "a", count: 9000), "/\u{7f}"] {
            #expect(throws: WritHTTPError.self, "\(target.prefix(20))") {
                try WritHTTPRequestDigest.digest(method: "GET", origin: o, target: target, bodyDigest: SHA256.hash([]))
            }
        }
        #expect(throws: WritHTTPError.self) {
            try WritHTTPRequestDigest.digest(method: "G ET", origin: o, target: "/", bodyDigest: SHA256.hash([]))
        }
    }

    func mapped(_ map: WritRouteMap, _ method: String, _ target: String) throws -> String {
        let m = try map.map(method: method, target: target)
        return "\(m.action) \(m.resource)"
    }

    @Test("default mapping: action is the method in lower case, resource the path; rules override in order")
    func routeMapping() throws {
        let none = WritRouteMap()
        #expect(try mapped(none, "GET", "/repo/writ/README?x=1") == "get repo/writ/README")
        #expect(try mapped(none, "DELETE", "/") == "delete /")
        let map = WritRouteMap(rules: [
            try .init(method: "GET", path: "/repos/:owner/:repo/contents/*", action: "read", resource: "repo/:repo/*"),
            try .init(method: "*", path: "/admin/*", action: "admin", resource: "admin"),
            try .init(method: "POST", path: "/repos/:owner/:repo/merge", action: "merge", resource: "repo/:repo/pr"),
        ])
        #expect(try mapped(map, "GET", "/repos/acme/writ/contents/a/b.md?ref=1") == "read repo/writ/a/b.md")
        #expect(try mapped(map, "PUT", "/admin/x") == "admin admin")
        #expect(try mapped(map, "POST", "/repos/acme/writ/merge") == "merge repo/writ/pr")
        #expect(try mapped(map, "GET", "/repos/acme/writ/merge") == "get repos/acme/writ/merge")
        #expect(throws: WritHTTPError.self) {
            try WritRouteMap.Rule(method: "GET", path: "/a/*/b", action: "r", resource: "r")
        }
        #expect(throws: WritHTTPError.self) {
            try WritRouteMap.Rule(method: "GET", path: "/a/:x", action: "r", resource: ":y")
        }
        #expect(throws: WritHTTPError.self) {
            try WritRouteMap.Rule(method: "GET", path: "a", action: "r", resource: "r")
        }
    }

    @Test("a bound proof verifies only for the exact method, URL and body it was made for")
    func boundProof() throws {
        let key = Ed25519.PrivateKey()
        let credential = WritCredential.key(key.publicKey)
        let origin = try WritOrigin("https://a.example")
        let now = Timestamp(secondsSinceEpoch: 1_767_225_600)
        let fields = try WritHTTPSigner.headerFields(
            credential: credential,
            key: key,
            request: TokenRequest(audience: "a", action: "post", resource: "x"),
            method: "POST",
            origin: origin,
            target: "/x",
            body: Array("{}".utf8),
            at: now
        )
        let presentation = try WritPresentation(headers: fields)
        let proof = try ProofOfPossession(text: try #require(presentation.proof))
        func verifies(_ method: String, _ o: WritOrigin, _ target: String, _ body: String) throws -> Bool {
            var request = TokenRequest(audience: "a", action: "post", resource: "x")
            request.binding = try WritHTTPRequestDigest.digest(
                method: method,
                origin: o,
                target: target,
                bodyDigest: WritHTTPRequestDigest.bodyDigest(Array(body.utf8))
            )
            return proof.isValid(tokenDigest: credential.digest, request: request, holder: key.publicKey)
        }
        #expect(try verifies("POST", origin, "/x", "{}"))
        #expect(try !verifies("PUT", origin, "/x", "{}"))
        #expect(try !verifies("POST", try WritOrigin("https://b.example"), "/x", "{}"))
        #expect(try !verifies("POST", origin, "/x?y=1", "{}"))
        #expect(try !verifies("POST", origin, "/x", "{ }"))
        // The unbound message is a different message: an unbound check fails too.
        #expect(
            !proof.isValid(
                tokenDigest: credential.digest,
                request: TokenRequest(audience: "a", action: "post", resource: "x"),
                holder: key.publicKey
            )
        )
        // A binding of the wrong length never verifies.
        var wrong = TokenRequest(audience: "a", action: "post", resource: "x")
        wrong.binding = [1, 2, 3]
        #expect(!proof.isValid(tokenDigest: credential.digest, request: wrong, holder: key.publicKey))
    }

    @Test("garbage credentials do not decode; a key credential round-trips")
    func credentials() throws {
        for bad in ["writ1_!!", "writid1_AAAA", "writkey1_AAAA", "nope"] {
            #expect(throws: WritHTTPError.self, "\(bad)") { try WritCredential(text: bad) }
        }
        let key = Ed25519.PrivateKey().publicKey
        #expect(try WritCredential(text: WritCredential.key(key).text) == .key(key))
    }
}
#endif
