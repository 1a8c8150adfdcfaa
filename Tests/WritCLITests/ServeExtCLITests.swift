#if HTTP
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Testing
import Writ
import WritCrypto
import WritHTTP
import WritIdentity
import WritTokens

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `writ serve service`/`broker` as processes: approvals, configured detectors forwarding to the authority, a
/// PostgreSQL store, tampered files, the broker's session rate limit.
@Suite("writ serve: approvals, detectors, stores, tampering, broker limits", .serialized)
struct ServeExtCLITests {
    typealias Server = ServeCLITests.Server
    typealias Net = ServeNetworkCLITests
    typealias Answer = (status: Int, refusal: WritRefusal?, body: String)

    static func authorityConfig(port: Int, serviceKeys: [String: String]) -> String {
        let keys = serviceKeys.map { "\"\($0.key)\": \"\($0.value)\"" }.sorted().joined(separator: ", ")
        return """
            {
              "listen": { "host": "127.0.0.1", "port": \(port) },
              "store": "sqlite:state/authority.sqlite",
              "keys": {
                "issuer": "keys/issuer.key", "revocation": "keys/revocation.key",
                "audit": "keys/audit.key", "auditSalt": "keys/audit-salt.key"
              },
              "operatorKeys": ["operator.pub"],
              "serviceKeys": { \(keys) },
              "agentClasses": [{ "name": "coder", "defaultTTLSeconds": 60, "maximumTTLSeconds": 300, "refreshLimit": 5 }],
              "entitlements": { "coder": [
                { "audience": "repo", "actions": ["get", "peek", "merge"], "resources": ["repo/*"] },
                { "audience": "payments", "actions": ["get"], "resources": ["payments/*"] }
              ] }
            }
            """
    }

    /// `peek` is in the token's grant but no policy permits it: a policy denial, attributed to the holder.
    static let repoPolicy = """
        @id("reads-and-merges")
        permit (principal, action in [Action::"get", Action::"merge"], resource);

        @checkpoint("merging needs a human's approval")
        forbid (principal, action == Action::"merge", resource)
        unless { context.approvals.contains("merge") };
        """

    static let repoRoutes = """
        [{ "method": "POST", "path": "/repo/:name/merge", "action": "merge", "resource": "repo/:name/merge" },
         { "method": "GET", "path": "/peek/:name", "action": "peek", "resource": "repo/secret/:name" },
         { "method": "GET", "path": "/repo/:name/*", "action": "get", "resource": "repo/:name/*" }]
        """

    /// An agent's signed call, with extra header fields (approvals).
    static func call(
        _ http: HTTPClient,
        _ provider: CredentialProvider,
        origin: WritOrigin,
        audience: String,
        method: String = "GET",
        action: String,
        resource: String,
        target: String,
        approval: (@Sendable (String) throws -> String)? = nil
    ) async throws -> Answer {
        let binding = try WritHTTPRequestDigest.digest(
            method: method,
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
        request.method = .init(rawValue: method)
        for field in WritPresentation(credential: credential.token, proof: credential.proof).headerFields {
            request.headers.add(name: field.name, value: field.value)
        }
        if let approval { request.headers.add(name: WritApproval.headerName, value: try approval(credential.token)) }
        return try await send(http, request)
    }

    static func send(_ http: HTTPClient, _ request: HTTPClientRequest) async throws -> Answer {
        let response = try await http.execute(request, timeout: .seconds(10))
        let data = Data(try await response.body.collect(upTo: 1 << 20).readableBytesView)
        return (
            Int(response.status.code), try? JSONDecoder().decode(WritRefusal.self, from: data),
            String(decoding: data, as: UTF8.self)
        )
    }

    /// An agent attested at the authority, with an open task.
    struct Agent {
        let client: WritAuthorityClient
        let identity: AgentIdentity
        let key = Ed25519.PrivateKey()
        let document: IdentityDocument
        let task: String

        init(_ client: WritAuthorityClient, operatorKey: Ed25519.PrivateKey, number: Int = 1) async throws {
            self.client = client
            identity = try AgentIdentity("spiffe://acme.test/agent/coder/\(number)")
            let join = try await client.issueJoinToken(
                .init(identity: identity.description, agentClass: "coder"),
                operatorKey: operatorKey
            )
            document = try await client.attest(join.evidence(signingKey: key), key: key)
            task = try await client.openTask(
                .init(objective: "merge the fix", intent: "fix-bug", deadlineSeconds: 600),
                as: document,
                key: key
            )
        }

        func provider(
            _ audience: String,
            actions: [String],
            resources: [ResourcePattern]
        ) async throws
            -> CredentialProvider
        {
            let provider = CredentialProvider(
                identity: identity,
                key: key,
                source: HTTPTokenSource(client: client, identity: document, key: key)
            )
            try await provider.begin(
                task: task,
                step: StepGrant(
                    name: "step-\(audience)",
                    audience: audience,
                    actions: actions,
                    resources: resources,
                    duration: .seconds(120)
                )
            )
            return provider
        }
    }

    /// Writes the shared files and starts the authority; returns it, the operator key and the directory's files.
    static func startAuthority(
        _ dir: String,
        verifiers: [String],
        children: inout [Server]
    ) async throws -> (Server, Ed25519.PrivateKey, Int) {
        let operatorKey = try Net.setUp(dir, verifiers: verifiers)
        try Net.write(repoPolicy, to: dir + "/repo.cedar")
        let port = Net.freePort()
        try Net.write(
            authorityConfig(
                port: port,
                serviceKeys: Dictionary(uniqueKeysWithValues: verifiers.map { ($0, "\($0)/report.key.pub") })
            ),
            to: dir + "/authority.json"
        )
        let authority = try Server([
            "serve", "authority", "--config", dir + "/authority.json", "--log-level", "warning",
        ])
        children.append(authority)
        _ = try #require(try await authority.address(), "authority: \(authority.stdout) \(authority.stderr)")
        return (authority, operatorKey, port)
    }

    static func verifier(
        _ dir: String,
        name: String,
        port: Int,
        authorityPort: Int,
        routes: String,
        policy: String = "policy.cedar",
        store: String? = nil,
        extra: String = ""
    ) throws -> String {
        let path = dir + "/\(name).json"
        var config = Net.verifierConfig(
            name: name,
            port: port,
            authorityPort: authorityPort,
            routes: routes,
            extra: extra
        )
        config = config.replacingOccurrences(of: "\"policy.cedar\"", with: "\"\(policy)\"")
        if let store { config = config.replacingOccurrences(of: "sqlite:\(name)/\(name).sqlite", with: store) }
        try Net.write(config, to: path)
        return path
    }

    @Test("approvals across processes: only one signed by a configured approver for this token passes the checkpoint")
    func approvals() async throws {
        let dir = try CLITests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var children: [Server] = []
        defer { for child in children { child.killNow() } }
        let (_, operatorKey, authorityPort) = try await Self.startAuthority(
            dir,
            verifiers: ["repo"],
            children: &children
        )
        let human = Ed25519.PrivateKey()
        try Net.writePublicKey(human.publicKey, to: dir + "/human.pub")
        let servicePort = Net.freePort()
        let config = try Self.verifier(
            dir,
            name: "repo",
            port: servicePort,
            authorityPort: authorityPort,
            routes: Self.repoRoutes,
            policy: "repo.cedar",
            extra: #""approvers": [{ "name": "alice", "publicKeyFile": "human.pub" }],"#
        )
        let service = try Server(["serve", "service", "--config", config, "--log-level", "info"])
        children.append(service)
        _ = try #require(try await service.address(), "service: \(service.stdout) \(service.stderr)")

        let http = Net.makeHTTPClient()
        do {
            let origin = try WritOrigin("http://127.0.0.1:\(servicePort)")
            let client = WritAuthorityClient(
                origin: try WritOrigin("http://127.0.0.1:\(authorityPort)"),
                httpClient: http
            )
            let agent = try await Agent(client, operatorKey: operatorKey)
            let provider = try await agent.provider("repo", actions: ["get", "merge"], resources: ["repo/*"])
            func merge(_ approval: (@Sendable (String) throws -> String)?) async throws -> Answer {
                try await Self.call(
                    http,
                    provider,
                    origin: origin,
                    audience: "repo",
                    method: "POST",
                    action: "merge",
                    resource: "repo/writ/merge",
                    target: "/repo/writ/merge",
                    approval: approval
                )
            }
            func approval(by key: Ed25519.PrivateKey, audience: String = "repo") -> @Sendable (String) throws -> String
            {
                { token in
                    try WritApproval.sign(
                        name: "merge",
                        audience: audience,
                        action: "merge",
                        resource: "repo/writ/merge",
                        tokenDigest: try WritCredential(text: token).digest,
                        key: key,
                        at: SystemClock().now()
                    ).text
                }
            }
            let without = try await merge(nil)
            #expect(without.status == 403, "\(without.body)")
            #expect(without.refusal?.code == "reauthorization-required", "\(without.body)")
            #expect(without.refusal?.retry == .approval)

            let forged = try await merge(approval(by: Ed25519.PrivateKey()))
            #expect(forged.refusal?.code == "reauthorization-required", "\(forged.body)")
            let elsewhere = try await merge(approval(by: human, audience: "payments"))
            #expect(elsewhere.refusal?.code == "reauthorization-required", "\(elsewhere.body)")
            let stale = try await merge { token in
                try WritApproval.sign(
                    name: "merge",
                    audience: "repo",
                    action: "merge",
                    resource: "repo/writ/merge",
                    tokenDigest: try WritCredential(text: token).digest,
                    key: human,
                    at: SystemClock().now().advanced(by: .seconds(-900)),
                    lifetime: .seconds(60)
                ).text
            }
            #expect(stale.refusal?.code == "reauthorization-required", "\(stale.body)")
            let garbage = try await merge { _ in "writap1_garbage" }
            #expect(garbage.status == 400 && garbage.refusal?.code == "malformed-header", "\(garbage.body)")

            let approved = try await merge(approval(by: human))
            #expect(approved.status == 200, "\(approved.body)")
            #expect(approved.body.contains("\"action\":\"merge\""), "\(approved.body)")
        } catch {
            try? await http.shutdown()
            throw error
        }
        try await http.shutdown()
        #expect(try await service.stop(SIGTERM) == 0, "\(service.stderr)")
        #expect(service.stderr.contains("Writ-Approval ignored"), "ignored approvals are logged: \(service.stderr)")
        #expect(service.stderr.contains("accepted from alice"), "\(service.stderr)")
        #expect(!service.stderr.contains("writ1_"), "no token in the log")
    }

    @Test(
        "configured detectors: a policy-denied burst at one service revokes the agent at the authority and the next call elsewhere is denied"
    )
    func detectorsRevokeEverywhere() async throws {
        let dir = try CLITests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var children: [Server] = []
        defer { for child in children { child.killNow() } }
        let (_, operatorKey, authorityPort) = try await Self.startAuthority(
            dir,
            verifiers: ["repo", "payments"],
            children: &children
        )
        let repoPort = Net.freePort()
        let paymentsPort = Net.freePort()
        // Three denials trip the repo service's burst detector (the default needs five).
        let repoConfig = try Self.verifier(
            dir,
            name: "repo",
            port: repoPort,
            authorityPort: authorityPort,
            routes: Self.repoRoutes,
            policy: "repo.cedar",
            extra: #""detectors": { "denialBurst": { "threshold": 3, "windowSeconds": 60 }, "useAfterClose": {} },"#
        )
        let paymentsConfig = try Self.verifier(
            dir,
            name: "payments",
            port: paymentsPort,
            authorityPort: authorityPort,
            routes: Net.paymentRoutes
        )
        let repo = try Server(["serve", "service", "--config", repoConfig, "--log-level", "warning"])
        children.append(repo)
        let payments = try Server(["serve", "service", "--config", paymentsConfig, "--log-level", "warning"])
        children.append(payments)
        _ = try #require(try await repo.address(), "repo: \(repo.stdout) \(repo.stderr)")
        _ = try #require(try await payments.address(), "payments: \(payments.stdout) \(payments.stderr)")

        let http = Net.makeHTTPClient()
        do {
            let repoOrigin = try WritOrigin("http://127.0.0.1:\(repoPort)")
            let paymentsOrigin = try WritOrigin("http://127.0.0.1:\(paymentsPort)")
            let client = WritAuthorityClient(
                origin: try WritOrigin("http://127.0.0.1:\(authorityPort)"),
                httpClient: http
            )
            let agent = try await Agent(client, operatorKey: operatorKey)
            let repoProvider = try await agent.provider("repo", actions: ["get", "peek"], resources: ["repo/*"])
            let paymentsProvider = try await agent.provider("payments", actions: ["get"], resources: ["payments/*"])
            func pay() async throws -> Answer {
                try await Self.call(
                    http,
                    paymentsProvider,
                    origin: paymentsOrigin,
                    audience: "payments",
                    action: "get",
                    resource: "payments/charges/ch_1",
                    target: "/v1/charges/ch_1"
                )
            }
            let before = try await pay()
            #expect(before.status == 200, "\(before.body)")
            for i in 1...3 {
                let probe = try await Self.call(
                    http,
                    repoProvider,
                    origin: repoOrigin,
                    audience: "repo",
                    action: "peek",
                    resource: "repo/secret/s\(i)",
                    target: "/peek/s\(i)"
                )
                #expect(probe.status == 403 && probe.refusal?.code == "policy", "\(probe.body)")
            }
            // The anomaly went to the authority, which revoked the agent; the payments service follows the feed.
            let after = try await Net.poll(pay) { $0.status != 200 }
            #expect(after.status == 401, "\(after.body)")
            #expect(after.refusal?.code == "revoked", "\(after.body)")
            let page = try await client.feedPage(after: 0, limit: 100, wait: .zero)
            #expect(page.entries.count >= 1)
        } catch {
            try? await http.shutdown()
            throw error
        }
        try await http.shutdown()
    }

    /// The public half of a `writsk1_…` key file the authority wrote.
    static func publicKey(ofKeyFile path: String) throws -> Ed25519.PublicKey {
        let text = try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let seed = try #require(Base64URL.decode(String(text.dropFirst("writsk1_".count))))
        return try Ed25519.PrivateKey(seed: SecureBytes(seed)).publicKey
    }

    @Test("authorityKeys: pinning other keys, a service refuses the authority's trust bundle, exits 2 naming the key")
    func pinnedAuthorityKeys() async throws {
        let dir = try CLITests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var children: [Server] = []
        defer { for child in children { child.killNow() } }
        let (_, _, authorityPort) = try await Self.startAuthority(dir, verifiers: ["repo"], children: &children)
        try Net.writePublicKey(try Self.publicKey(ofKeyFile: dir + "/keys/issuer.key"), to: dir + "/issuer.pub")
        try Net.writePublicKey(try Self.publicKey(ofKeyFile: dir + "/keys/revocation.key"), to: dir + "/revocation.pub")
        try Net.writePublicKey(Ed25519.PrivateKey().publicKey, to: dir + "/stranger.pub")
        func service(_ issuers: String, _ revocation: String) throws -> String {
            try Self.verifier(
                dir,
                name: "repo",
                port: Net.freePort(),
                authorityPort: authorityPort,
                routes: Self.repoRoutes,
                policy: "repo.cedar",
                extra: #""authorityKeys": { "issuers": [\#(issuers)], "revocation": [\#(revocation)] },"#
            )
        }
        // Whoever answers at the authority's URL with other keys (here: the real authority, pinned wrongly).
        for (issuers, revocation, named) in [
            (#""stranger.pub""#, #""revocation.pub""#, "authorityKeys.issuers does not pin"),
            (#""issuer.pub""#, #""stranger.pub""#, "authorityKeys.revocation does not pin"),
        ] {
            let run = try await CLITests.run(["serve", "service", "--config", try service(issuers, revocation)])
            #expect(run.status == 2, "\(run.stdout) \(run.stderr)")
            #expect(run.stderr.contains(named), "expected '\(named)' in \(run.stderr)")
            #expect(!run.stdout.contains("listening on"), "it must never serve")
        }
        // Its real keys pinned (and a next key beside them, as before a rotation): it serves.
        let pinned = try service(#""issuer.pub", "stranger.pub""#, #""revocation.pub""#)
        let served = try Server(["serve", "service", "--config", pinned, "--log-level", "warning"])
        children.append(served)
        #expect(try await served.address() != nil, "\(served.stdout) \(served.stderr)")
        #expect(!served.stderr.contains("authorityKeys is not set"))
    }

    @Test("approvers, detectors and authorityKeys: bad settings exit 2 naming the setting")
    func badSettings() async throws {
        let dir = try CLITests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try Net.setUp(dir, verifiers: ["repo"])
        let human = Ed25519.PrivateKey()
        let text = "writpk1_" + Base64URL.encode(human.publicKey.rawRepresentation)
        func refused(_ extra: String, _ expected: String, role: String = "service") async throws {
            let path = try Self.verifier(
                dir,
                name: "repo",
                port: 1,
                authorityPort: 1,
                routes: Net.repoRoutes,
                extra: extra
            )
            let run = try await CLITests.run(["serve", role, "--config", path])
            #expect(run.status == 2, "\(extra): \(run.stdout)")
            #expect(run.stderr.contains(expected), "expected '\(expected)' in \(run.stderr)")
        }
        try await refused(#""detectors": { "denialBurts": {} },"#, "'detectors.denialBurts' is not a setting")
        try await refused(#""detectors": { "denialBurst": { "treshold": 3 } },"#, "'detectors.denialBurst.treshold'")
        try await refused(#""detectors": { "denialBurst": { "threshold": 0 } },"#, "detectors.denialBurst.threshold")
        try await refused(
            #""detectors": { "rateSpike": { "windowSeconds": 0 } },"#,
            "detectors.rateSpike.windowSeconds"
        )
        try await refused(
            #""detectors": { "intentDeviation": { "fix": { "actions": [], "x": 1 } } },"#,
            "intentDeviation.fix.x"
        )
        try await refused(#""approvers": [{ "name": "alice" }],"#, "approvers[0]")
        try await refused(
            #""approvers": [{ "name": "alice", "publicKey": "writpk1_AAAA" }],"#,
            "approvers[0].publicKey"
        )
        try await refused(
            #""approvers": [{ "name": "alice", "publicKey": "\#(text)", "key": "x" }],"#,
            "approvers[0].key"
        )
        try await refused(
            #""approvers": [{ "name": "a", "publicKey": "\#(text)" }, { "name": "a", "publicKey": "\#(text)" }],"#,
            "approvers[1].name"
        )
        try await refused(#""approvers": [{ "name": "alice", "publicKeyFile": "missing.pub" }],"#, "missing.pub")
        try await refused(#""detectors": { "denialBurts": {} },"#, "detectors.denialBurts", role: "broker")
        // authorityKeys: refused at load, before anything is fetched from the authority.
        try await refused(
            #""authorityKeys": { "issuers": [], "revocation": ["revocation.pub"] },"#,
            "authorityKeys.issuers"
        )
        try await refused(
            #""authorityKeys": { "issuer": ["issuer.pub"], "revocation": [] },"#,
            "'authorityKeys.issuer'"
        )
        try await refused(
            #""authorityKeys": { "issuers": ["missing.pub"], "revocation": ["revocation.pub"] },"#,
            "missing.pub"
        )
    }
}
#endif
