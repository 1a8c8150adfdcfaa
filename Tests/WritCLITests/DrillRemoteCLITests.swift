#if HTTP
import Foundation
import Testing
import WritCrypto

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `writ drill --deployment FILE` against `writ serve` children on loopback: an authority and two services.
@Suite("writ drill --deployment: the drill against real endpoints", .serialized)
struct DrillRemoteCLITests {
    typealias Server = ServeCLITests.Server
    typealias Net = ServeNetworkCLITests

    static let policy = """
        @id("drill")
        permit (principal, action == Action::"drill.probe", resource == Resource::"drill/canary");
        """

    static let canaryClass = """
        { "name": "canary", "defaultTTLSeconds": 60, "maximumTTLSeconds": 120, "refreshLimit": 3 }
        """

    static func authorityConfig(port: Int, services: [String]) -> String {
        let keys = services.map { "\"\($0)\": \"\($0)/report.key.pub\"" }.joined(separator: ", ")
        let grants = services.map {
            "{ \"audience\": \"\($0)\", \"actions\": [\"drill.probe\"], \"resources\": [\"drill/canary\"] }"
        }.joined(separator: ", ")
        return """
            {
              "listen": { "host": "127.0.0.1", "port": \(port) },
              "store": "sqlite:state/authority.sqlite",
              "keys": {
                "issuer": "keys/issuer.key", "revocation": "keys/revocation.key",
                "audit": "keys/audit.key", "auditSalt": "keys/audit-salt.key"
              },
              "operatorKeys": ["keys/operator.pub"],
              "serviceKeys": { \(keys) },
              "agentClasses": [\(canaryClass)],
              "entitlements": { "canary": [\(grants)] }
            }
            """
    }

    static func serviceConfig(name: String, port: Int, authorityPort: Int, staleness: Int = 3) -> String {
        """
        {
          "listen": { "host": "127.0.0.1", "port": \(port) },
          "name": "\(name)",
          "authority": "http://127.0.0.1:\(authorityPort)",
          "policy": "policy.cedar",
          "maxStalenessSeconds": \(staleness),
          "store": "sqlite:\(name)/\(name).sqlite",
          "keys": { "audit": "\(name)/audit.key", "auditSalt": "\(name)/salt.key", "report": "\(name)/report.key" },
          "agentClasses": [\(canaryClass)],
          "operatorKeys": ["keys/operator.pub"],
          "routes": [{ "method": "GET", "path": "/drill/canary", "action": "drill.probe", "resource": "drill/canary" }]
        }
        """
    }

    static func deployment(authorityPort: Int, services: [(name: String, port: Int)]) -> String {
        let entries = services.map {
            """
            { "name": "\($0.name)", "url": "http://127.0.0.1:\($0.port)", "verifier": "\($0.name)",
              "auditKey": "keys/\($0.name)-audit.pub", "probe": { "method": "GET", "path": "/drill/canary" } }
            """
        }.joined(separator: ",\n")
        return """
            {
              "authority": "http://127.0.0.1:\(authorityPort)",
              "authorityAudience": "writ-authority",
              "operatorKey": "keys/operator.key",
              "drillClass": "canary",
              "services": [\(entries)]
            }
            """
    }

    /// Keys, policy and configurations in `dir`: the operator's key, each service's report and audit keys.
    static func prepare(_ dir: String, services: [String]) throws {
        let operatorKey = Ed25519.PrivateKey()
        try Net.writePrivateKey(operatorKey, to: dir + "/keys/operator.key")
        try Net.writePublicKey(operatorKey.publicKey, to: dir + "/keys/operator.pub")
        for name in services {
            let report = Ed25519.PrivateKey()
            try Net.writePrivateKey(report, to: dir + "/\(name)/report.key")
            try Net.writePublicKey(report.publicKey, to: dir + "/\(name)/report.key.pub")
            let audit = Ed25519.PrivateKey()
            try Net.writePrivateKey(audit, to: dir + "/\(name)/audit.key")
            try Net.writePublicKey(audit.publicKey, to: dir + "/keys/\(name)-audit.pub")
        }
        try Net.write(Self.policy, to: dir + "/policy.cedar")
    }

    /// The JSON report's rows by service.
    static func rows(_ stdout: String) -> [String: [String: Any]] {
        let object = try? JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any]
        var rows: [String: [String: Any]] = [:]
        for row in (object?["rows"] as? [[String: Any]]) ?? [] {
            if let name = row["service"] as? String { rows[name] = row }
        }
        return rows
    }

    static func passed(_ row: [String: Any]?, _ check: String) -> Bool? {
        (row?[check] as? [String: Any])?["passed"] as? Bool
    }

    @Test("an authority and two services: the drill passes (table and JSON); one SIGKILLed: exit 1 naming it")
    func passesThenKilled() async throws {
        let dir = try CLITests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Self.prepare(dir, services: ["repo", "tickets"])
        let authorityPort = Net.freePort()
        let repoPort = Net.freePort()
        let ticketsPort = Net.freePort()
        try Net.write(
            Self.authorityConfig(port: authorityPort, services: ["repo", "tickets"]),
            to: dir + "/authority.json"
        )
        try Net.write(
            Self.serviceConfig(name: "repo", port: repoPort, authorityPort: authorityPort),
            to: dir + "/repo.json"
        )
        try Net.write(
            Self.serviceConfig(name: "tickets", port: ticketsPort, authorityPort: authorityPort),
            to: dir + "/tickets.json"
        )
        try Net.write(
            Self.deployment(authorityPort: authorityPort, services: [("repo", repoPort), ("tickets", ticketsPort)]),
            to: dir + "/deploy/drill.json"
        )
        // The deployment file lives in deploy/: its paths are relative to it.
        try FileManager.default.createSymbolicLink(atPath: dir + "/deploy/keys", withDestinationPath: dir + "/keys")

        var children: [Server] = []
        defer { for child in children { child.killNow() } }
        let quiet = ["--log-level", "warning"]
        let authority = try Server(["serve", "authority", "--config", dir + "/authority.json"] + quiet)
        children.append(authority)
        _ = try #require(try await authority.address(), "authority: \(authority.stdout) \(authority.stderr)")
        let repo = try Server(["serve", "service", "--config", dir + "/repo.json"] + quiet)
        children.append(repo)
        let tickets = try Server(["serve", "service", "--config", dir + "/tickets.json"] + quiet)
        children.append(tickets)
        _ = try #require(try await repo.address(), "repo: \(repo.stdout) \(repo.stderr)")
        _ = try #require(try await tickets.address(), "tickets: \(tickets.stdout) \(tickets.stderr)")

        let table = try await CLITests.run(["drill", "--deployment", dir + "/deploy/drill.json"])
        #expect(table.status == 0, "\(table.stdout)\n\(table.stderr)")
        #expect(table.stdout.contains("SERVICE"))
        #expect(table.stdout.contains("drill: every check held on every service"))
        #expect(!table.stdout.contains("✗"), "\(table.stdout)")

        let json = try await CLITests.run(["drill", "--deployment", dir + "/deploy/drill.json", "--json"])
        #expect(json.status == 0, "\(json.stdout)\n\(json.stderr)")
        let rows = Self.rows(json.stdout)
        #expect(rows.count == 2)
        for name in ["repo", "tickets"] {
            for check in ["revocation", "refresh", "logging"] {
                #expect(Self.passed(rows[name], check) == true, "\(name) \(check): \(json.stdout)")
            }
        }
        let revocation = rows["repo"]?["revocation"] as? [String: Any]
        #expect((revocation?["detail"] as? String)?.contains("signed watermark repo@") == true)
        let logging = rows["tickets"]?["logging"] as? [String: Any]
        #expect((logging?["detail"] as? String)?.contains("verified against tickets's checkpoint") == true)

        // tickets dies without a word: its cells fail (within the timeout), repo's still pass, exit 1 naming it.
        tickets.killNow()
        let killed = try await CLITests.run([
            "drill", "--deployment", dir + "/deploy/drill.json", "--json", "--timeout", "3",
        ])
        #expect(killed.status == 1, "\(killed.stdout)\n\(killed.stderr)")
        #expect(killed.stderr.contains("tickets"), "\(killed.stderr)")
        #expect(!killed.stderr.contains("repo ("), "\(killed.stderr)")
        let after = Self.rows(killed.stdout)
        #expect(Self.passed(after["repo"], "revocation") == true)
        #expect(Self.passed(after["tickets"], "revocation") == false)
        #expect(Self.passed(after["tickets"], "logging") == false)
    }

    @Test("a deaf service (it follows a second authority that never hears the revocation): its revocation cell fails")
    func deafService() async throws {
        let dir = try CLITests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Self.prepare(dir, services: ["repo", "tickets"])
        let authorityPort = Net.freePort()
        let shadowPort = Net.freePort()
        let repoPort = Net.freePort()
        let ticketsPort = Net.freePort()
        try Net.write(
            Self.authorityConfig(port: authorityPort, services: ["repo", "tickets"]),
            to: dir + "/authority.json"
        )
        // The shadow: the same issuer and revocation keys, its own store. Tokens of the real authority verify at a
        // service that follows it, but revocations published to the real feed never reach its feed.
        try Net.write(
            Self.authorityConfig(port: shadowPort, services: ["repo", "tickets"])
                .replacingOccurrences(of: "state/authority.sqlite", with: "state/shadow.sqlite"),
            to: dir + "/shadow.json"
        )
        try Net.write(
            Self.serviceConfig(name: "repo", port: repoPort, authorityPort: authorityPort),
            to: dir + "/repo.json"
        )
        try Net.write(
            Self.serviceConfig(name: "tickets", port: ticketsPort, authorityPort: shadowPort),
            to: dir + "/tickets.json"
        )
        try Net.write(
            Self.deployment(authorityPort: authorityPort, services: [("repo", repoPort), ("tickets", ticketsPort)]),
            to: dir + "/drill.json"
        )
        var children: [Server] = []
        defer { for child in children { child.killNow() } }
        let quiet = ["--log-level", "warning"]
        let authority = try Server(["serve", "authority", "--config", dir + "/authority.json"] + quiet)
        children.append(authority)
        _ = try #require(try await authority.address(), "authority: \(authority.stdout) \(authority.stderr)")
        let shadow = try Server(["serve", "authority", "--config", dir + "/shadow.json"] + quiet)
        children.append(shadow)
        _ = try #require(try await shadow.address(), "shadow: \(shadow.stdout) \(shadow.stderr)")
        let repo = try Server(["serve", "service", "--config", dir + "/repo.json"] + quiet)
        children.append(repo)
        let tickets = try Server(["serve", "service", "--config", dir + "/tickets.json"] + quiet)
        children.append(tickets)
        _ = try #require(try await repo.address(), "repo: \(repo.stdout) \(repo.stderr)")
        _ = try #require(try await tickets.address(), "tickets: \(tickets.stdout) \(tickets.stderr)")

        let run = try await CLITests.run(["drill", "--deployment", dir + "/drill.json", "--json", "--timeout", "3"])
        #expect(run.status == 1, "\(run.stdout)\n\(run.stderr)")
        #expect(run.stderr.contains("tickets (revocation"), "\(run.stderr)")
        let rows = Self.rows(run.stdout)
        #expect(Self.passed(rows["tickets"], "revocation") == false)
        let detail = (rows["tickets"]?["revocation"] as? [String: Any])?["detail"] as? String
        #expect(detail?.contains("still allowed") == true, "\(detail ?? "")")
        for check in ["revocation", "refresh", "logging"] {
            #expect(Self.passed(rows["repo"], check) == true, "repo \(check): \(run.stdout)")
        }
    }

    @Test("a bad deployment file or an unreachable authority: exit 2 naming the key or the authority")
    func badInput() async throws {
        let dir = try CLITests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Self.prepare(dir, services: ["repo"])
        let deadPort = Net.freePort()
        let good = Self.deployment(authorityPort: deadPort, services: [("repo", Net.freePort())])

        func run(_ text: String) async throws -> CLITests.Run {
            try Net.write(text, to: dir + "/drill.json")
            return try await CLITests.run(["drill", "--deployment", dir + "/drill.json"])
        }
        let unknownTop = try await run(good.replacingOccurrences(of: "\"drillClass\"", with: "\"drillClas\""))
        #expect(unknownTop.status == 2)
        #expect(unknownTop.stderr.contains("drillClas"), "\(unknownTop.stderr)")
        let unknownService = try await run(good.replacingOccurrences(of: "\"verifier\"", with: "\"verifer\""))
        #expect(unknownService.status == 2)
        #expect(unknownService.stderr.contains("services[0].verifer"), "\(unknownService.stderr)")
        let unknownProbe = try await run(good.replacingOccurrences(of: "\"path\"", with: "\"route\""))
        #expect(unknownProbe.status == 2)
        #expect(unknownProbe.stderr.contains("services[0].probe.route"), "\(unknownProbe.stderr)")
        let missingKey = try await run(good.replacingOccurrences(of: "repo-audit.pub", with: "absent.pub"))
        #expect(missingKey.status == 2)
        #expect(missingKey.stderr.contains("services[0].auditKey"), "\(missingKey.stderr)")
        let badURL = try await run(good.replacingOccurrences(of: "http://127.0.0.1:\(deadPort)", with: "ftp://nowhere"))
        #expect(badURL.status == 2)
        #expect(badURL.stderr.contains("authority"), "\(badURL.stderr)")
        let notJSON = try await run("[1, 2]")
        #expect(notJSON.status == 2)

        // Nothing listens on the authority's port.
        let unreachable = try await run(good)
        #expect(unreachable.status == 2, "\(unreachable.stderr)")
        #expect(unreachable.stderr.contains("127.0.0.1:\(deadPort)"), "\(unreachable.stderr)")
        #expect(unreachable.stderr.contains("unreachable"), "\(unreachable.stderr)")
    }
}
#endif
