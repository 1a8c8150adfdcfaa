#if HTTP
import AsyncHTTPClient
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import NIOCore
import NIOHTTP1
import Testing
import Writ
import WritCrypto
import WritHTTP
import WritIdentity
import WritRevocation
import WritTokens

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `writ serve authority`, `service` and `broker` as child processes on loopback, driven by an agent in the test
/// process over HTTP (WritAuthorityClient, HTTPTokenSource, CredentialProvider).
@Suite("writ serve: authority, service and broker as processes", .serialized)
struct ServeNetworkCLITests {
    typealias Server = ServeCLITests.Server

    /// A free TCP port on 127.0.0.1 (bound, read back, released).
    static func freePort() -> Int {
        #if canImport(Glibc)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    static func write(_ text: String, to path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }

    static func writePrivateKey(_ key: Ed25519.PrivateKey, to path: String) throws {
        try write(key.seed.withUnsafeBytes { "writsk1_" + Base64URL.encode($0) } + "\n", to: path)
        chmod(path, 0o600)
    }

    static func writePublicKey(_ key: Ed25519.PublicKey, to path: String) throws {
        try write("writpk1_" + Base64URL.encode(key.rawRepresentation) + "\n", to: path)
    }

    static func authorityConfig(port: Int, store: String, serviceKeys: [String: String]) -> String {
        let keys = serviceKeys.map { "\"\($0.key)\": \"\($0.value)\"" }.sorted().joined(separator: ", ")
        return """
            {
              "listen": { "host": "127.0.0.1", "port": \(port) },
              "store": "\(store)",
              "keys": {
                "issuer": "keys/issuer.key", "revocation": "keys/revocation.key",
                "audit": "keys/audit.key", "auditSalt": "keys/audit-salt.key"
              },
              "operatorKeys": ["operator.pub"],
              "serviceKeys": { \(keys) },
              "agentClasses": [{ "name": "coder", "defaultTTLSeconds": 60, "maximumTTLSeconds": 300, "refreshLimit": 5 }],
              "entitlements": { "coder": [
                { "audience": "repo", "actions": ["get"], "resources": ["repo/*"] },
                { "audience": "payments", "actions": ["get"], "resources": ["payments/*"] }
              ] }
            }
            """
    }

    static func verifierConfig(
        name: String,
        port: Int,
        authorityPort: Int,
        routes: String,
        extra: String = "",
        readiness: Int? = nil
    ) -> String {
        """
        {
          "listen": { "host": "127.0.0.1", "port": \(port) },
          "name": "\(name)",
          "authority": "http://127.0.0.1:\(authorityPort)",
          "policy": "policy.cedar",
          "maxStalenessSeconds": 3,
          \(readiness.map { "\"readinessTimeoutSeconds\": \($0)," } ?? "")
          "store": "sqlite:\(name)/\(name).sqlite",
          "keys": { "audit": "\(name)/audit.key", "auditSalt": "\(name)/salt.key", "report": "\(name)/report.key" },
          "agentClasses": [{ "name": "coder", "defaultTTLSeconds": 60, "maximumTTLSeconds": 300, "refreshLimit": 5 }],
          \(extra)
          "routes": \(routes)
        }
        """
    }

    static let repoRoutes = """
        [{ "method": "GET", "path": "/repo/:name/*", "action": "get", "resource": "repo/:name/*" }]
        """
    static let paymentRoutes = """
        [{ "method": "GET", "path": "/v1/charges/*", "action": "get", "resource": "payments/charges/*" }]
        """
    static let policy = """
        @id("reads")
        permit (principal, action == Action::"get", resource);
        """

    /// A tiny upstream API (python3): answers 200 only with `Authorization: Bearer sk-upstream-42`, and says whether
    /// it saw any Writ header.
    static let upstreamScript = """
        import http.server, sys
        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                ok = self.headers.get("Authorization") == "Bearer sk-upstream-42"
                writ = "yes" if self.headers.get("Writ-Proof") is not None else "no"
                body = ("upstream %s writ-headers=%s" % (self.path, writ)).encode()
                self.send_response(200 if ok else 401)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            def log_message(self, *args):
                pass
        server = http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H)
        print("listening", flush=True)
        server.serve_forever()
        """

    /// An agent's signed call to a Writ-protected origin.
    static func call(
        _ http: HTTPClient,
        _ provider: CredentialProvider,
        origin: WritOrigin,
        audience: String,
        action: String,
        resource: String,
        target: String
    ) async throws -> (status: Int, refusal: WritRefusal?, body: String) {
        let binding = try WritHTTPRequestDigest.digest(
            method: "GET",
            origin: origin,
            target: target,
            bodyDigest: WritHTTPRequestDigest.bodyDigest([])
        )
        let credential = try await provider.credential(
            audience: audience,
            action: action,
            resource: resource,
            binding: binding
        )
        var request = HTTPClientRequest(url: origin.description + target)
        for field in WritPresentation(credential: credential.token, proof: credential.proof).headerFields {
            request.headers.add(name: field.name, value: field.value)
        }
        let response = try await http.execute(request, timeout: .seconds(10))
        let data = Data(try await response.body.collect(upTo: 1 << 20).readableBytesView)
        return (
            Int(response.status.code), try? JSONDecoder().decode(WritRefusal.self, from: data),
            String(decoding: data, as: UTF8.self)
        )
    }

    /// Calls until `done` holds for the answer, for at most `seconds`; the last answer.
    static func poll(
        within seconds: Double = 20,
        _ attempt: () async throws -> (status: Int, refusal: WritRefusal?, body: String),
        until done: ((status: Int, refusal: WritRefusal?, body: String)) -> Bool
    ) async throws -> (status: Int, refusal: WritRefusal?, body: String) {
        let deadline = Date().addingTimeInterval(seconds)
        var last = try await attempt()
        while !done(last), Date() < deadline {
            try await Task.sleep(for: .milliseconds(200))
            last = try await attempt()
        }
        return last
    }

    static func makeHTTPClient() -> HTTPClient {
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    @Test("attest, task, step: 200 from service and broker; authority down: 503; back: 200; revoked: 401; audit")
    func lifecycle() async throws {
        let dir = try CLITests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let operatorKey = Ed25519.PrivateKey()
        try Self.writePublicKey(operatorKey.publicKey, to: dir + "/operator.pub")
        for name in ["repo", "payments"] {
            let key = Ed25519.PrivateKey()
            try Self.writePrivateKey(key, to: dir + "/\(name)/report.key")
            try Self.writePublicKey(key.publicKey, to: dir + "/\(name)/report.key.pub")
        }
        try Self.write(Self.policy, to: dir + "/policy.cedar")
        try Self.write(Self.upstreamScript, to: dir + "/upstream.py")
        try Self.write("sk-upstream-42\n", to: dir + "/upstream.secret")
        chmod(dir + "/upstream.secret", 0o600)

        let authorityPort = Self.freePort()
        let servicePort = Self.freePort()
        let brokerPort = Self.freePort()
        let upstreamPort = Self.freePort()
        try Self.write(
            Self.authorityConfig(
                port: authorityPort,
                store: "sqlite:state/authority.sqlite",
                serviceKeys: ["repo": "repo/report.key.pub", "payments": "payments/report.key.pub"]
            ),
            to: dir + "/authority.json"
        )
        try Self.write(
            Self.verifierConfig(
                name: "repo",
                port: servicePort,
                authorityPort: authorityPort,
                routes: Self.repoRoutes
            ),
            to: dir + "/service.json"
        )
        try Self.write(
            Self.verifierConfig(
                name: "payments",
                port: brokerPort,
                authorityPort: authorityPort,
                routes: Self.paymentRoutes,
                extra: """
                    "upstream": { "url": "http://127.0.0.1:\(upstreamPort)", "secretFile": "upstream.secret" },
                    "session": { "rateLimit": 1000 },
                    """
            ),
            to: dir + "/broker.json"
        )

        var children: [Server] = []
        defer { for child in children { child.killNow() } }
        let python = try Server(
            ["python3", dir + "/upstream.py", String(upstreamPort)],
            executable: URL(fileURLWithPath: "/usr/bin/env")
        )
        children.append(python)
        #expect(try await python.waitFor("listening"), "upstream: \(python.stderr)")

        let quiet = ["--log-level", "warning"]
        var authority = try Server(["serve", "authority", "--config", dir + "/authority.json"] + quiet)
        children.append(authority)
        _ = try #require(try await authority.address(), "authority: \(authority.stdout) \(authority.stderr)")
        let service = try Server(["serve", "service", "--config", dir + "/service.json"] + quiet)
        children.append(service)
        let broker = try Server(["serve", "broker", "--config", dir + "/broker.json"] + quiet)
        children.append(broker)
        _ = try #require(try await service.address(), "service: \(service.stdout) \(service.stderr)")
        _ = try #require(try await broker.address(), "broker: \(broker.stdout) \(broker.stderr)")
        #expect(service.stdout.contains("ready"))
        #expect(service.stdout.contains("created audit key"))

        let http = Self.makeHTTPClient()
        do {
            let authorityOrigin = try WritOrigin("http://127.0.0.1:\(authorityPort)")
            let serviceOrigin = try WritOrigin("http://127.0.0.1:\(servicePort)")
            let brokerOrigin = try WritOrigin("http://127.0.0.1:\(brokerPort)")
            let client = WritAuthorityClient(origin: authorityOrigin, httpClient: http)
            let agent = try AgentIdentity("spiffe://acme.test/agent/coder/1")
            let agentKey = Ed25519.PrivateKey()

            // Operator: a join token. Agent: attest, open a task, begin a step per audience.
            let join = try await client.issueJoinToken(
                .init(identity: agent.description, agentClass: "coder"),
                operatorKey: operatorKey
            )
            let document = try await client.attest(join.evidence(signingKey: agentKey), key: agentKey)
            let task = try await client.openTask(
                .init(objective: "read the repo", intent: "review", deadlineSeconds: 600),
                as: document,
                key: agentKey
            )
            func provider(_ audience: String, _ resources: [ResourcePattern]) async throws -> CredentialProvider {
                let provider = CredentialProvider(
                    identity: agent,
                    key: agentKey,
                    source: HTTPTokenSource(client: client, identity: document, key: agentKey)
                )
                try await provider.begin(
                    task: task,
                    step: StepGrant(
                        name: "read-\(audience)",
                        audience: audience,
                        actions: ["get"],
                        resources: resources,
                        duration: .seconds(120)
                    )
                )
                return provider
            }
            let repo = try await provider("repo", ["repo/*"])
            let payments = try await provider("payments", ["payments/*"])
            func callRepo() async throws -> (status: Int, refusal: WritRefusal?, body: String) {
                try await Self.call(
                    http,
                    repo,
                    origin: serviceOrigin,
                    audience: "repo",
                    action: "get",
                    resource: "repo/writ/README",
                    target: "/repo/writ/README"
                )
            }
            func callBroker() async throws -> (status: Int, refusal: WritRefusal?, body: String) {
                try await Self.call(
                    http,
                    payments,
                    origin: brokerOrigin,
                    audience: "payments",
                    action: "get",
                    resource: "payments/charges/ch_1",
                    target: "/v1/charges/ch_1"
                )
            }

            let first = try await callRepo()
            #expect(first.status == 200, "\(first.body)")
            let echo = try JSONSerialization.jsonObject(with: Data(first.body.utf8)) as? [String: Any]
            #expect(echo?["agent"] as? String == agent.description)
            #expect(echo?["resource"] as? String == "repo/writ/README")
            #expect(echo?["task"] as? String == task)

            let proxied = try await callBroker()
            #expect(proxied.status == 200, "\(proxied.body)")
            #expect(
                proxied.body == "upstream /v1/charges/ch_1 writ-headers=no",
                "the key went upstream, Writ's did not"
            )
            #expect(!proxied.body.contains("sk-upstream"))

            // A route the service does not serve: 404 before any check.
            var unrouted = HTTPClientRequest(url: serviceOrigin.description + "/elsewhere")
            unrouted.method = .GET
            let notFound = try await http.execute(unrouted, timeout: .seconds(10))
            #expect(notFound.status.code == 404)

            // The authority goes down: once the feed is older than 3 s the service fails closed with 503.
            #expect(try await authority.stop(SIGTERM) == 0, "authority: \(authority.stderr)")
            let stale = try await Self.poll(callRepo) { $0.status != 200 }
            #expect(stale.status == 503, "\(stale.body)")
            #expect(stale.refusal?.retry == .later, "\(stale.body)")
            #expect(stale.body.contains("revocation-unavailable"), "\(stale.body)")

            // It comes back on the same store: the service catches up and serves again with the same token.
            authority = try Server(["serve", "authority", "--config", dir + "/authority.json"] + quiet)
            children.append(authority)
            _ = try #require(try await authority.address(), "authority: \(authority.stdout) \(authority.stderr)")
            #expect(!authority.stdout.contains("created"))
            let back = try await Self.poll(callRepo) { $0.status == 200 }
            #expect(back.status == 200, "\(back.body)")

            // The operator revokes the agent: both the service and the broker deny its next calls.
            try await client.revoke(.init(agent: agent.description), operatorKey: operatorKey)
            let denied = try await Self.poll(callRepo) { $0.status != 200 }
            #expect(denied.status == 401, "\(denied.body)")
            #expect(denied.refusal?.code == "revoked", "\(denied.body)")
            let brokerDenied = try await Self.poll(callBroker) { $0.status != 200 }
            #expect(brokerDenied.status == 401, "\(brokerDenied.body)")
            #expect(brokerDenied.refusal?.code == "revoked", "\(brokerDenied.body)")
            #expect(!brokerDenied.body.contains("sk-upstream"))
        } catch {
            try? await http.shutdown()
            throw error
        }
        try await http.shutdown()

        for server in [service, broker, authority] {
            #expect(try await server.stop(SIGTERM) == 0, "\(server.stderr)")
            #expect(server.stdout.contains("stopped"))
        }

        // The service's audit log, read back from its store by a later process.
        let audit = try await CLITests.run(["serve", "service", "--config", dir + "/service.json", "--print-audit"])
        #expect(audit.status == 0, "\(audit.stderr)")
        let entries = audit.stdout.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: String]
        }
        let used = entries.filter { $0["kind"] == "used" && $0["resource"] == "repo/writ/README" }
        let refused = entries.filter { $0["kind"] == "denied" }
        #expect(used.count >= 2, "\(audit.stdout)")
        #expect(!refused.isEmpty, "\(audit.stdout)")
        #expect(entries.allSatisfy { $0["agent"] == nil || $0["agent"] == "spiffe://acme.test/agent/coder/1" })
    }

    /// The files every verifier test needs: operator and report keys, the policy.
    static func setUp(_ dir: String, verifiers: [String]) throws -> Ed25519.PrivateKey {
        let operatorKey = Ed25519.PrivateKey()
        try writePublicKey(operatorKey.publicKey, to: dir + "/operator.pub")
        for name in verifiers {
            let key = Ed25519.PrivateKey()
            try writePrivateKey(key, to: dir + "/\(name)/report.key")
            try writePublicKey(key.publicKey, to: dir + "/\(name)/report.key.pub")
        }
        try write(policy, to: dir + "/policy.cedar")
        return operatorKey
    }

    @Test("a service started while the authority is down does not listen until it has caught up the feed")
    func readiness() async throws {
        let dir = try CLITests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try Self.setUp(dir, verifiers: ["repo"])
        let authorityPort = Self.freePort()
        let servicePort = Self.freePort()
        try Self.write(
            Self.authorityConfig(
                port: authorityPort,
                store: "sqlite:state/authority.sqlite",
                serviceKeys: ["repo": "repo/report.key.pub"]
            ),
            to: dir + "/authority.json"
        )
        try Self.write(
            Self.verifierConfig(name: "repo", port: servicePort, authorityPort: authorityPort, routes: Self.repoRoutes),
            to: dir + "/service.json"
        )
        var children: [Server] = []
        defer { for child in children { child.killNow() } }
        let service = try Server(["serve", "service", "--config", dir + "/service.json", "--log-level", "warning"])
        children.append(service)
        try await Task.sleep(for: .seconds(3))
        #expect(service.process.isRunning, "it waits: \(service.stderr)")
        #expect(!service.stdout.contains("listening"), "\(service.stdout)")
        let early = try? await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(servicePort)/repo/a/b")!)
        #expect(early == nil, "nothing listens before the feed is caught up")

        let authority = try Server([
            "serve", "authority", "--config", dir + "/authority.json", "--log-level", "warning",
        ])
        children.append(authority)
        _ = try #require(try await authority.address(), "authority: \(authority.stderr)")
        let address = try #require(try await service.address(), "service: \(service.stdout) \(service.stderr)")
        // Serving now: an unauthenticated call is refused per the binding, not dropped.
        let (_, response) = try await URLSession.shared.data(from: URL(string: address + "/repo/a/b")!)
        #expect((response as? HTTPURLResponse)?.statusCode == 401)
        #expect(try await service.stop(SIGTERM) == 0)
        #expect(try await authority.stop(SIGTERM) == 0)

        // With a readiness timeout and no authority, it gives up with exit 2, naming the authority.
        try Self.write(
            Self.verifierConfig(
                name: "repo",
                port: servicePort,
                authorityPort: Self.freePort(),
                routes: Self.repoRoutes,
                readiness: 1
            ),
            to: dir + "/service.json"
        )
        let run = try await CLITests.run([
            "serve", "service", "--config", dir + "/service.json", "--log-level", "error",
        ])
        #expect(run.status == 2)
        #expect(run.stderr.contains("not ready within 1 s"), "\(run.stderr)")
        #expect(!run.stdout.contains("listening"))
    }

    @Test("service and broker: bad configurations exit 2 with what is wrong; each role prints a JSON example")
    func badConfigurations() async throws {
        let dir = try CLITests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try Self.setUp(dir, verifiers: ["repo"])
        let path = dir + "/service.json"
        func refused(_ role: String, _ config: String, _ expected: String) async throws {
            try Self.write(config, to: path)
            let run = try await CLITests.run(["serve", role, "--config", path])
            #expect(run.status == 2, "\(role): \(run.stdout)")
            #expect(run.stderr.contains(expected), "\(role): expected '\(expected)' in \(run.stderr)")
        }
        let good = Self.verifierConfig(name: "repo", port: 1, authorityPort: 1, routes: Self.repoRoutes)
        try await refused(
            "service",
            Self.verifierConfig(name: "repo", port: 1, authorityPort: 1, routes: "[]"),
            "routes:"
        )
        try await refused(
            "service",
            Self.verifierConfig(
                name: "repo",
                port: 1,
                authorityPort: 1,
                routes: #"[{ "method": "GET", "path": "nope", "action": "get", "resource": "r" }]"#
            ),
            "routes[0]"
        )
        try await refused(
            "service",
            good.replacingOccurrences(of: "policy.cedar", with: "missing.cedar"),
            "missing.cedar"
        )
        try Self.write("permit (principal, action, resource", to: dir + "/bad.cedar")
        try await refused("service", good.replacingOccurrences(of: "policy.cedar", with: "bad.cedar"), "policy '")
        try await refused("service", good.replacingOccurrences(of: "\"name\": \"repo\",", with: ""), "name")
        try await refused(
            "service",
            good.replacingOccurrences(of: "\"maxStalenessSeconds\": 3", with: "\"maxStalenessSeconds\": 0"),
            "maxStalenessSeconds"
        )
        try await refused(
            "service",
            good.replacingOccurrences(
                of: "\"routes\"",
                with: #""upstream": { "url": "http://x", "secretFile": "s" }, "routes""#
            ),
            "broker settings"
        )
        try await refused(
            "service",
            good.replacingOccurrences(of: "\"maxStalenessSeconds\"", with: "\"maxStalenessSecond\""),
            "'maxStalenessSecond' is not a setting"
        )
        try await refused(
            "service",
            good.replacingOccurrences(of: "\"auditSalt\"", with: "\"salt\""),
            "'keys.salt' is not a setting"
        )
        try await refused("broker", good, "upstream: missing")
        try await refused(
            "broker",
            good.replacingOccurrences(
                of: "\"routes\"",
                with: #""upstream": { "url": "ftp://x", "secretFile": "s" }, "routes""#
            ),
            "upstream.url"
        )
        try await refused(
            "service",
            good.replacingOccurrences(of: "sqlite:repo/repo.sqlite", with: "postgres://u:hunter2@127.0.0.1/db?bogus=1"),
            "bogus"
        )
        let leaked = try await CLITests.run(["serve", "service", "--config", path])
        #expect(!leaked.stderr.contains("hunter2"), "\(leaked.stderr)")
        try await refused(
            "service",
            good.replacingOccurrences(of: "sqlite:repo/repo.sqlite", with: "file:x"),
            "sqlite:PATH"
        )

        for role in ["service", "broker"] {
            let run = try await CLITests.run(["serve", role, "--print-example-config"])
            #expect(run.status == 0)
            let json = try? JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]
            #expect(json?["routes"] != nil && json?["authority"] != nil, "\(role): \(run.stdout)")
            #expect((json?["upstream"] != nil) == (role == "broker"))
            let help = try await CLITests.run(["serve", role, "--help"])
            #expect(help.status == 0 && help.stdout.contains("\"routes\""), "\(help.stdout)")
        }
    }

    static let postgresURL = ProcessInfo.processInfo.environment["WRIT_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }

    @Test(
        "serve authority on postgres://: a restart keeps keys, tasks, revocations and join tokens (once)",
        .enabled(
            if: ServeNetworkCLITests.postgresURL != nil,
            "set WRIT_POSTGRES_URL (e.g. postgres://postgres:postgres@127.0.0.1:5432/writ_test)"
        )
    )
    func postgresRestart() async throws {
        let base = try #require(Self.postgresURL)
        let schema = "serve_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12).lowercased()
        let url = base + (base.contains("?") ? "&" : "?") + "schema=" + schema
        let dir = try CLITests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let operatorKey = try Self.setUp(dir, verifiers: [])
        let port = Self.freePort()
        try Self.write(Self.authorityConfig(port: port, store: url, serviceKeys: [:]), to: dir + "/authority.json")
        var children: [Server] = []
        defer { for child in children { child.killNow() } }
        func start() async throws -> Server {
            let server = try Server([
                "serve", "authority", "--config", dir + "/authority.json", "--log-level", "warning",
            ])
            children.append(server)
            _ = try #require(try await server.address(), "authority: \(server.stdout) \(server.stderr)")
            return server
        }

        let http = Self.makeHTTPClient()
        do {
            let client = WritAuthorityClient(origin: try WritOrigin("http://127.0.0.1:\(port)"), httpClient: http)
            let first = try await start()
            #expect(first.stdout.contains("using store postgres://…@"), "\(first.stdout)")
            #expect(!first.stdout.contains("postgres:postgres@"))
            let bundle = try await client.trustBundle()
            let agent = try AgentIdentity("spiffe://acme.test/agent/coder/1")
            let agentKey = Ed25519.PrivateKey()
            let later = try AgentIdentity("spiffe://acme.test/agent/coder/2")
            let laterKey = Ed25519.PrivateKey()
            let join = try await client.issueJoinToken(
                .init(identity: agent.description, agentClass: "coder"),
                operatorKey: operatorKey
            )
            let pending = try await client.issueJoinToken(
                .init(identity: later.description, agentClass: "coder"),
                operatorKey: operatorKey
            )
            let document = try await client.attest(join.evidence(signingKey: agentKey), key: agentKey)
            let task = try await client.openTask(
                .init(objective: "o", intent: "review", deadlineSeconds: 600),
                as: document,
                key: agentKey
            )
            let step = StepGrant(name: "read", audience: "repo", actions: ["get"], resources: ["repo/*"])
            let source = HTTPTokenSource(client: client, identity: document, key: agentKey)
            _ = try await source.issue(task: task, step: step)
            #expect(try await first.stop(SIGTERM) == 0, "\(first.stderr)")

            // Restarted: the same keys; the task opened before is still open; the pending join token works once.
            let second = try await start()
            let again = try await client.trustBundle()
            #expect(again.issuers.keys.map(\.keyID) == bundle.issuers.keys.map(\.keyID))
            #expect(again.revocation.keys.map(\.keyID) == bundle.revocation.keys.map(\.keyID))
            _ = try await source.refresh(task: task, step: "read")
            let laterDocument = try await client.attest(pending.evidence(signingKey: laterKey), key: laterKey)
            #expect(laterDocument.identity == later)
            await #expect(throws: (any Error).self, "a join token is accepted once, across restarts") {
                _ = try await client.attest(pending.evidence(signingKey: laterKey), key: laterKey)
            }
            try await client.revoke(.init(agent: agent.description), operatorKey: operatorKey)
            #expect(try await second.stop(SIGTERM) == 0, "\(second.stderr)")

            // Restarted again: the revocation holds, and the feed still carries it.
            let third = try await start()
            do {
                _ = try await source.issue(task: task, step: step)
                Issue.record("a revoked agent got a token after a restart")
            } catch let error as WritHTTPError {
                #expect(error.refusal?.code == "revoked", "\(error)")
            }
            let page = try await client.feedPage(after: 0, limit: 100, wait: .zero)
            #expect(!page.entries.isEmpty)
            #expect(try await third.stop(SIGTERM) == 0, "\(third.stderr)")
        } catch {
            try? await http.shutdown()
            throw error
        }
        try await http.shutdown()
    }
}
#endif
