#if HTTP
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Testing
import Writ
import WritCrypto
import WritHTTP
import WritTokens

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What `writ serve service` writes, read back by a process started afterwards: a PostgreSQL store, tampered key
/// files, `.pub` and SQLite store; and the broker's session rate limit over HTTP.
@Suite("writ serve: the service's stores and files across restarts; the broker's rate limit", .serialized)
struct ServeStoreCLITests {
    typealias Server = ServeCLITests.Server
    typealias Net = ServeNetworkCLITests
    typealias Ext = ServeExtCLITests

    /// The request an agent sent, to send again byte for byte.
    static func signedRequest(
        _ provider: CredentialProvider,
        origin: WritOrigin,
        target: String,
        resource: String,
        audience: String = "repo"
    ) async throws -> HTTPClientRequest {
        let binding = try WritHTTPRequestDigest.digest(
            method: "GET",
            origin: origin,
            target: target,
            bodyDigest: WritHTTPRequestDigest.bodyDigest([])
        )
        let credential = try await provider.credential(
            audience: audience,
            action: "get",
            resource: resource,
            binding: binding
        )
        var request = HTTPClientRequest(url: origin.description + target)
        for field in WritPresentation(credential: credential.token, proof: credential.proof).headerFields {
            request.headers.add(name: field.name, value: field.value)
        }
        return request
    }

    static func auditLines(_ stdout: String) -> [[String: String]] {
        stdout.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: String]
        }
    }

    @Test(
        "serve service on postgres://: nonces and audit in PostgreSQL; after a restart a replayed proof is refused and the audit is kept",
        .enabled(
            if: ServeNetworkCLITests.postgresURL != nil,
            "set WRIT_POSTGRES_URL (e.g. postgres://postgres:postgres@127.0.0.1:5432/writ_test)"
        )
    )
    func postgresService() async throws {
        let base = try #require(Net.postgresURL)
        let schema = "svc_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12).lowercased()
        let url = base + (base.contains("?") ? "&" : "?") + "schema=" + schema
        let dir = try CLITests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var children: [Server] = []
        defer { for child in children { child.killNow() } }
        let (_, operatorKey, authorityPort) = try await Ext.startAuthority(
            dir,
            verifiers: ["repo"],
            children: &children
        )
        let port = Net.freePort()
        let config = try Ext.verifier(
            dir,
            name: "repo",
            port: port,
            authorityPort: authorityPort,
            routes: Net.repoRoutes,
            store: url
        )
        func start() async throws -> Server {
            let service = try Server(["serve", "service", "--config", config, "--log-level", "warning"])
            children.append(service)
            _ = try #require(try await service.address(), "service: \(service.stdout) \(service.stderr)")
            return service
        }
        let http = Net.makeHTTPClient()
        do {
            let first = try await start()
            #expect(first.stdout.contains("using store postgres://…@"), "\(first.stdout)")
            #expect(!first.stdout.contains("postgres:postgres@"), "no password printed")
            #expect(!FileManager.default.fileExists(atPath: dir + "/repo/repo.sqlite"), "no SQLite file beside it")
            let origin = try WritOrigin("http://127.0.0.1:\(port)")
            let client = WritAuthorityClient(
                origin: try WritOrigin("http://127.0.0.1:\(authorityPort)"),
                httpClient: http
            )
            let agent = try await Ext.Agent(client, operatorKey: operatorKey)
            let provider = try await agent.provider("repo", actions: ["get"], resources: ["repo/*"])
            let request = try await Self.signedRequest(
                provider,
                origin: origin,
                target: "/repo/writ/README",
                resource: "repo/writ/README"
            )
            let once = try await Ext.send(http, request)
            #expect(once.status == 200, "\(once.body)")
            let again = try await Ext.send(http, request)
            // In the same process the in-memory replay cache refuses it first (token-rejected, replayedNonce).
            #expect(again.status == 401, "\(again.body)")
            #expect(
                again.refusal?.code == "replayed" || again.refusal?.tokenError == "replayedNonce",
                "\(again.body)"
            )
            #expect(try await first.stop(SIGTERM) == 0, "\(first.stderr)")

            // A new process (an empty in-memory replay cache): only the nonce in PostgreSQL can refuse it.
            let second = try await start()
            let replayed = try await Ext.send(http, request)
            #expect(replayed.status == 401, "\(replayed.body)")
            #expect(
                replayed.refusal?.code == "replayed",
                "the restarted service remembered the nonce: \(replayed.body)"
            )
            let fresh = try await Ext.send(
                http,
                try await Self.signedRequest(provider, origin: origin, target: "/repo/writ/a", resource: "repo/writ/a")
            )
            #expect(fresh.status == 200, "\(fresh.body)")
            #expect(try await second.stop(SIGTERM) == 0, "\(second.stderr)")
        } catch {
            try? await http.shutdown()
            throw error
        }
        try await http.shutdown()

        // Both processes' entries, read back from PostgreSQL (every entry checked against the checkpoint).
        let audit = try await CLITests.run(["serve", "service", "--config", config, "--print-audit"])
        #expect(audit.status == 0, "\(audit.stderr)")
        let entries = Self.auditLines(audit.stdout)
        #expect(entries.contains { $0["kind"] == "used" && $0["resource"] == "repo/writ/README" }, "\(audit.stdout)")
        #expect(entries.contains { $0["kind"] == "used" && $0["resource"] == "repo/writ/a" }, "\(audit.stdout)")
        #expect(entries.filter { $0["kind"] == "denied" }.count >= 2, "\(audit.stdout)")
    }

    @Test(
        "tampered files: a later service refuses a replaced .pub, key files, audit rows or store; regenerates a removed .pub visibly"
    )
    func tampering() async throws {
        let dir = try CLITests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var children: [Server] = []
        defer { for child in children { child.killNow() } }
        let (authority, operatorKey, authorityPort) = try await Ext.startAuthority(
            dir,
            verifiers: ["repo"],
            children: &children
        )
        let port = Net.freePort()
        let config = try Ext.verifier(
            dir,
            name: "repo",
            port: port,
            authorityPort: authorityPort,
            routes: Net.repoRoutes
        )
        // A first run writes the store and the audit and salt keys, and a few audit entries.
        let service = try Server(["serve", "service", "--config", config, "--log-level", "warning"])
        children.append(service)
        _ = try #require(try await service.address(), "service: \(service.stdout) \(service.stderr)")
        let http = Net.makeHTTPClient()
        do {
            let client = WritAuthorityClient(
                origin: try WritOrigin("http://127.0.0.1:\(authorityPort)"),
                httpClient: http
            )
            let agent = try await Ext.Agent(client, operatorKey: operatorKey)
            let provider = try await agent.provider("repo", actions: ["get"], resources: ["repo/*"])
            let origin = try WritOrigin("http://127.0.0.1:\(port)")
            for name in ["a", "b", "c"] {
                let answer = try await Ext.send(
                    http,
                    try await Self.signedRequest(
                        provider,
                        origin: origin,
                        target: "/repo/writ/\(name)",
                        resource: "repo/writ/\(name)"
                    )
                )
                #expect(answer.status == 200, "\(answer.body)")
            }
        } catch {
            try? await http.shutdown()
            throw error
        }
        try await http.shutdown()
        #expect(try await service.stop(SIGTERM) == 0, "\(service.stderr)")
        #expect(try await authority.stop(SIGTERM) == 0)

        func printAudit() async throws -> CLITests.Run {
            try await CLITests.run(["serve", "service", "--config", config, "--print-audit"])
        }
        let clean = try await printAudit()
        #expect(clean.status == 0, "\(clean.stderr)")
        let cleanEntries = Self.auditLines(clean.stdout)
        #expect(cleanEntries.filter { $0["kind"] == "used" }.count == 3, "\(clean.stdout)")

        func tampered(
            _ label: String,
            _ expected: String,
            sourceLocation: SourceLocation = #_sourceLocation
        ) async throws {
            let run = try await printAudit()
            #expect(run.status == 2, "\(label): \(run.stdout)", sourceLocation: sourceLocation)
            #expect(
                run.stderr.contains(expected),
                "\(label): expected '\(expected)' in \(run.stderr)",
                sourceLocation: sourceLocation
            )
            #expect(
                !run.stdout.contains("\"kind\""),
                "\(label): nothing printed as if trusted",
                sourceLocation: sourceLocation
            )
        }
        let files = FileManager.default
        func backup(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path)) }
        func restore(_ data: Data, _ path: String) throws { try data.write(to: URL(fileURLWithPath: path)) }

        // The report key's .pub (what the authority is told to trust): replaced, damaged, removed.
        let pub = dir + "/repo/report.key.pub"
        let pubBytes = try backup(pub)
        try Net.writePublicKey(Ed25519.PrivateKey().publicKey, to: pub)
        try await tampered("replaced .pub", "report public key")
        try Net.write("garbage\n", to: pub)
        try await tampered("damaged .pub", "report public key")
        try files.removeItem(atPath: pub)
        let rewritten = try await printAudit()
        #expect(rewritten.status == 0, "\(rewritten.stderr)")
        #expect(rewritten.stdout.contains("created report public key"), "written again, visibly: \(rewritten.stdout)")
        #expect(try backup(pub) == pubBytes, "the same public key as before")

        // Key files: damaged, or replaced by another valid key.
        for (file, label) in [("audit.key", "audit key"), ("salt.key", "audit salt key"), ("report.key", "report key")]
        {
            let path = dir + "/repo/" + file
            let original = try backup(path)
            try Net.write("writsk1_not-a-key\n", to: path)
            try await tampered("damaged \(file)", label)
            try restore(original, path)
        }
        let auditKey = dir + "/repo/audit.key"
        let auditKeyBytes = try backup(auditKey)
        try Net.writePrivateKey(Ed25519.PrivateKey(), to: auditKey)
        try await tampered("replaced audit key", "audit log")
        // A service started with it refuses too (it never appends to a log it cannot prove).
        let refusing = try await CLITests.run(["serve", "service", "--config", config, "--log-level", "error"])
        #expect(refusing.status != 0, "\(refusing.stdout)")
        #expect(!refusing.stdout.contains("listening"), "\(refusing.stdout)")
        try restore(auditKeyBytes, auditKey)
        let reportKey = dir + "/repo/report.key"
        let reportKeyBytes = try backup(reportKey)
        try Net.writePrivateKey(Ed25519.PrivateKey(), to: reportKey)
        try await tampered("replaced report key (the .pub no longer matches)", "report public key")
        try restore(reportKeyBytes, reportKey)
        #expect(try await printAudit().status == 0, "restored")

        // The SQLite store: an audit row changed (the last one, a middle one), the file replaced.
        let store = dir + "/repo/repo.sqlite"
        func sqlite(_ sql: String) throws {
            let run = try Self.shell(["sqlite3", store, sql])
            #expect(run == 0, "sqlite3 \(sql)")
        }
        try sqlite("PRAGMA wal_checkpoint(TRUNCATE);")
        let storeBytes = try backup(store)
        let flip = "substr(entry, 1, 40) || x'5A' || substr(entry, 42)"
        try sqlite("UPDATE audit_entries SET entry = \(flip) WHERE idx = (SELECT max(idx) FROM audit_entries);")
        try await tampered("last audit row changed", "audit log")
        try restore(storeBytes, store)
        try sqlite("UPDATE audit_entries SET entry = \(flip) WHERE idx = 1;")
        try await tampered("middle audit row changed", "audit log")
        try sqlite("DELETE FROM audit_entries WHERE idx = 1;")
        try await tampered("middle audit row removed", "audit log")
        try restore(storeBytes, store)
        try Net.write("not a database", to: store)
        try await tampered("store replaced", "store")
        try restore(storeBytes, store)
        let back = try await printAudit()
        #expect(back.status == 0 && Self.auditLines(back.stdout).count == cleanEntries.count, "\(back.stderr)")
    }

    static func shell(_ arguments: [String]) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }

    @Test(
        "broker: session.rateLimit over HTTP — the call over the limit gets 429 rate-limited; another task is unaffected"
    )
    func brokerRateLimit() async throws {
        let dir = try CLITests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var children: [Server] = []
        defer { for child in children { child.killNow() } }
        let (_, operatorKey, authorityPort) = try await Ext.startAuthority(
            dir,
            verifiers: ["payments"],
            children: &children
        )
        try Net.write(Net.upstreamScript, to: dir + "/upstream.py")
        try Net.write("sk-upstream-42\n", to: dir + "/upstream.secret")
        chmod(dir + "/upstream.secret", 0o600)
        let upstreamPort = Net.freePort()
        let python = try Server(
            ["python3", dir + "/upstream.py", String(upstreamPort)],
            executable: URL(fileURLWithPath: "/usr/bin/env")
        )
        children.append(python)
        #expect(try await python.waitFor("listening"), "upstream: \(python.stderr)")
        let port = Net.freePort()
        let config = try Ext.verifier(
            dir,
            name: "payments",
            port: port,
            authorityPort: authorityPort,
            routes: Net.paymentRoutes,
            extra: """
                "upstream": { "url": "http://127.0.0.1:\(upstreamPort)", "secretFile": "upstream.secret" },
                "session": { "rateLimit": 2, "windowSeconds": 600 },
                """
        )
        let broker = try Server(["serve", "broker", "--config", config, "--log-level", "warning"])
        children.append(broker)
        _ = try #require(try await broker.address(), "broker: \(broker.stdout) \(broker.stderr)")

        let http = Net.makeHTTPClient()
        do {
            let client = WritAuthorityClient(
                origin: try WritOrigin("http://127.0.0.1:\(authorityPort)"),
                httpClient: http
            )
            let origin = try WritOrigin("http://127.0.0.1:\(port)")
            let first = try await Ext.Agent(client, operatorKey: operatorKey, number: 1)
            let second = try await Ext.Agent(client, operatorKey: operatorKey, number: 2)
            func charge(_ agent: Ext.Agent, _ provider: CredentialProvider, _ n: Int) async throws -> Ext.Answer {
                try await Ext.send(
                    http,
                    try await Self.signedRequest(
                        provider,
                        origin: origin,
                        target: "/v1/charges/ch_\(n)",
                        resource: "payments/charges/ch_\(n)",
                        audience: "payments"
                    )
                )
            }
            let one = try await first.provider("payments", actions: ["get"], resources: ["payments/*"])
            let two = try await second.provider("payments", actions: ["get"], resources: ["payments/*"])
            for n in 1...2 {
                let answer = try await charge(first, one, n)
                #expect(answer.status == 200, "\(answer.body)")
            }
            let over = try await charge(first, one, 3)
            #expect(over.status == 429, "\(over.body)")
            #expect(over.refusal?.code == "rate-limited", "\(over.body)")
            #expect(over.refusal?.retry == .later, "\(over.body)")
            #expect(!over.body.contains("sk-upstream"))
            let other = try await charge(second, two, 1)
            #expect(other.status == 200, "another task has its own session: \(other.body)")
        } catch {
            try? await http.shutdown()
            throw error
        }
        try await http.shutdown()
    }
}
#endif
