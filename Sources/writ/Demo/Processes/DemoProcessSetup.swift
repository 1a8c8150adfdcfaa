#if CLI
import Foundation
import Writ
import WritCrypto
import WritTesting
import WritTokens

/// The process demo's files: keys, policies and one `writ serve` configuration per child, written into the work
/// directory before anything starts, plus `deployment.json` for `writ drill --deployment`.
///
/// Layout of `<dir>`: `authority.json`, `<service>.json` (one per verifier), `policies/<service>.cedar`,
/// `keys/` (the operator's key pair, and per verifier its report, audit and audit-salt keys with the public halves
/// the authority and the drill need), `<name>.sqlite` (each child's own store; with `--postgres`, one schema),
/// `logs/<name>.log` (each child's standard error), `legacy.secret` (the legacy API's static key, 0600).
struct DemoProcessSetup: Sendable {
    /// One Writ verifier of the demo: a `writ serve service`, or the broker.
    struct Verifier: Sendable {
        let name: String
        let role: String
        var policy: String
        let routes: String
        /// Where it listens (picked before start: the proofs sign its origin, which must survive a restart).
        var port: Int
    }

    static let legacyKey = DemoDeployment.legacyAPIKey

    let directory: String
    /// Where the authority listens; everyone reaches it through the relay on ``relayPort`` (its public origin).
    let authorityPort: Int
    let relayPort: Int
    /// The HTTP verifiers (services and the broker): the drill and the fault scenes probe each of them.
    var verifiers: [Verifier]
    /// The tickets system's MCP tool server (`writ serve mcp`, audience `tickets-mcp`): the planner and the
    /// ticketer call its tools through the MCP client.
    var toolServer: Verifier
    /// Every verifier: the HTTP ones and the tool server (each follows the feed, reports watermarks, keeps a log).
    var everyVerifier: [Verifier] { verifiers + [toolServer] }
    let legacyPort: Int
    let operatorKey: Ed25519.PrivateKey
    /// The authority's issuer and revocation keys, made here (the authority loads them) so that every verifier
    /// pins their public halves (`authorityKeys`) instead of trusting what answers at the authority's URL.
    let issuerKey: Ed25519.PrivateKey
    let revocationKey: Ed25519.PrivateKey
    /// The human who approves checkpoints (`approvers` at repo): signs `Writ-Approval`s.
    let approverKey: Ed25519.PrivateKey
    let reportKeys: [String: Ed25519.PrivateKey]
    let auditKeys: [String: Ed25519.PrivateKey]
    /// `nil`: each child on its own SQLite file; else the PostgreSQL URL with the run's schema.
    let postgres: String?

    /// The authority's public origin: the demo's relay in front of it (so that the network can be cut).
    var authorityURL: String { "http://127.0.0.1:\(relayPort)" }

    func url(_ verifier: String) -> String {
        "http://127.0.0.1:\(everyVerifier.first { $0.name == verifier }?.port ?? 0)"
    }

    /// The tool server's tools, as `writ serve mcp` declares them (name, Writ action, resource template over the
    /// arguments, fixed answer).
    static let tools: [(name: String, action: String, resource: String, response: String)] = [
        ("read_ticket", "read", "tickets/{id}", ""),
        ("comment", "comment", "tickets/{id}", #"{ "ok": true }"#),
        ("close_ticket", "close", "tickets/{id}", #"{ "status": "closed" }"#),
    ]

    /// The MCP methods every tool-server step needs besides its tools (the session's own, action `mcp`).
    static let sessionResources: [ResourcePattern] = ["initialize", "notifications/*", "tools/list", "ping"]

    static let toolPolicies = """
        @id("ticket-tools")
        permit (principal, action in [Action::"read", Action::"comment", Action::"close"], resource)
        when { context.intent == "fix-bug" };

        @id("mcp-session")
        permit (principal, action == Action::"mcp", resource);
        """

    static func toolServerEntry() -> Verifier {
        Verifier(name: "tickets-mcp", role: "mcp", policy: toolPolicies, routes: "", port: 0)
    }

    static let drillRoute = """
        { "method": "GET", "path": "/drill/canary", "action": "drill.probe", "resource": "drill/canary" }
        """

    static let billingPolicies = """
        @id("refunds-for-bugs")
        permit (principal, action == Action::"refund", resource)
        when { context.intent == "fix-bug" && context.token.delegationDepth == 0 };

        @id("drill")
        permit (principal, action == Action::"drill.probe", resource == Resource::"drill/canary");
        """

    static func verifierList() -> [Verifier] {
        [
            Verifier(
                name: "repo",
                role: "service",
                policy: DemoDeployment.repoPolicies,
                routes: """
                    [{ "method": "GET", "path": "/repo/:name/*", "action": "read", "resource": "repo/:name/*" },
                     { "method": "PUT", "path": "/repo/:name/*", "action": "write", "resource": "repo/:name/*" },
                     { "method": "POST", "path": "/merge/:name/*", "action": "merge", "resource": "repo/:name/*" },
                     \(drillRoute)]
                    """,
                port: 0
            ),
            Verifier(
                name: "tickets",
                role: "service",
                policy: DemoDeployment.ticketPolicies,
                routes: """
                    [{ "method": "GET", "path": "/tickets/*", "action": "read", "resource": "tickets/*" },
                     { "method": "POST", "path": "/tickets/*", "action": "comment", "resource": "tickets/*" },
                     \(drillRoute)]
                    """,
                port: 0
            ),
            Verifier(
                name: "payments",
                role: "service",
                policy: DemoDeployment.paymentPolicies,
                routes: """
                    [{ "method": "POST", "path": "/payments/*", "action": "refund", "resource": "payments/*" },
                     \(drillRoute)]
                    """,
                port: 0
            ),
            Verifier(
                name: "billing",
                role: "broker",
                policy: billingPolicies,
                routes: """
                    [{ "method": "POST", "path": "/v1/refunds/*", "action": "refund", "resource": "billing/refunds/*" },
                     \(drillRoute)]
                    """,
                port: 0
            ),
        ]
    }

    /// The classes, with the shortest workable lifetimes: a step token lives a few seconds, so the planner's
    /// provider refreshes for real during a long step.
    static let classes = """
        [{ "name": "planner", "defaultTTLSeconds": 4, "maximumTTLSeconds": 30, "refreshLimit": 20,
           "maximumDelegationDepth": 2, "mayDelegate": true },
         { "name": "reader", "defaultTTLSeconds": 3, "maximumTTLSeconds": 10, "refreshLimit": 1 },
         { "name": "ticketer", "defaultTTLSeconds": 3, "maximumTTLSeconds": 10, "refreshLimit": 1 },
         { "name": "canary", "defaultTTLSeconds": 20, "maximumTTLSeconds": 60, "refreshLimit": 10 }]
        """

    static let entitlements = """
        {
          "planner": [
            { "audience": "repo", "actions": ["read", "write", "merge"], "resources": ["repo/*"] },
            { "audience": "tickets", "actions": ["read", "comment"], "resources": ["tickets/*"] },
            { "audience": "payments", "actions": ["refund"], "resources": ["payments/*"] },
            { "audience": "billing", "actions": ["refund"], "resources": ["billing/*"] },
            { "audience": "tickets-mcp", "actions": ["mcp", "read", "comment", "close"],
              "resources": ["tickets/*", "initialize", "notifications/*", "tools/list", "ping"] }
          ],
          "reader": [{ "audience": "repo", "actions": ["read"], "resources": ["repo/*"] }],
          "ticketer": [
            { "audience": "tickets", "actions": ["read", "comment"], "resources": ["tickets/*"] },
            { "audience": "tickets-mcp", "actions": ["mcp", "read", "comment"],
              "resources": ["tickets/*", "initialize", "notifications/*", "tools/list", "ping"] }
          ],
          "canary": [
            { "audience": "repo", "actions": ["drill.probe"], "resources": ["drill/*"] },
            { "audience": "tickets", "actions": ["drill.probe"], "resources": ["drill/*"] },
            { "audience": "payments", "actions": ["drill.probe"], "resources": ["drill/*"] },
            { "audience": "billing", "actions": ["drill.probe"], "resources": ["drill/*"] }
          ]
        }
        """

    /// Cleans `directory` (the files an earlier run wrote) and writes every file.
    ///
    /// `sabotage` names a verifier whose policy file is written broken, so that it fails at start (the tests of the
    /// start-up failure path).
    static func make(directory: String, postgres: String?, sabotage: String? = nil) throws -> DemoProcessSetup {
        // Only what an earlier run wrote is removed: anything else in the directory is left alone.
        let fm = FileManager.default
        var ours = ["keys", "logs", "policies", "legacy.secret", "deployment.json", "authority.json"]
        for name in ["authority", toolServerEntry().name] + verifierList().map(\.name) {
            ours += ["\(name).json", "\(name).sqlite", "\(name).sqlite-wal", "\(name).sqlite-shm"]
        }
        for name in ours where fm.fileExists(atPath: directory + "/" + name) {
            try fm.removeItem(atPath: directory + "/" + name)
        }
        for folder in ["keys", "logs", "policies"] {
            try fm.createDirectory(atPath: directory + "/" + folder, withIntermediateDirectories: true)
        }
        var verifiers = verifierList()
        for index in verifiers.indices {
            verifiers[index].port = freeLoopbackPort()
            if verifiers[index].name == sabotage { verifiers[index].policy = "permit (principal, action, resource" }
        }
        var toolServer = toolServerEntry()
        toolServer.port = freeLoopbackPort()
        var reportKeys: [String: Ed25519.PrivateKey] = [:]
        var auditKeys: [String: Ed25519.PrivateKey] = [:]
        for verifier in verifiers + [toolServer] {
            reportKeys[verifier.name] = Ed25519.PrivateKey()
            auditKeys[verifier.name] = Ed25519.PrivateKey()
        }
        let setup = DemoProcessSetup(
            directory: directory,
            authorityPort: freeLoopbackPort(),
            relayPort: freeLoopbackPort(),
            verifiers: verifiers,
            toolServer: toolServer,
            legacyPort: freeLoopbackPort(),
            operatorKey: Ed25519.PrivateKey(),
            issuerKey: Ed25519.PrivateKey(),
            revocationKey: Ed25519.PrivateKey(),
            approverKey: Ed25519.PrivateKey(),
            reportKeys: reportKeys,
            auditKeys: auditKeys,
            postgres: postgres
        )
        try setup.writeFiles()
        return setup
    }

    /// `name` as the start of a schema name (`tickets-mcp` → `tickets_mcp`: schema names are `a-z`, `0-9`, `_`).
    static func schemaPrefix(_ name: String) -> String { name.replacingOccurrences(of: "-", with: "_") }

    /// A child's store: its own SQLite file, or its own schema (`<schema>_<name>`) on the one PostgreSQL.
    func store(_ name: String) -> String {
        guard let postgres else { return "sqlite:\(name).sqlite" }
        return postgres.replacingOccurrences(of: "schema=", with: "schema=\(Self.schemaPrefix(name))_")
    }

    private func write(_ text: String, _ path: String, mode: mode_t = 0o644) throws {
        try OutputFile.replace(directory + "/" + path, contents: text, mode: mode, option: "--dir")
    }

    private func writeFiles() throws {
        try write(KeyFiles.privateText(operatorKey) + "\n", "keys/operator.key", mode: 0o600)
        try write(KeyFiles.publicText(operatorKey.publicKey) + "\n", "keys/operator.pub")
        for (name, key) in [("issuer", issuerKey), ("revocation", revocationKey)] {
            try write(KeyFiles.privateText(key) + "\n", "keys/authority-\(name).key", mode: 0o600)
            try write(KeyFiles.publicText(key.publicKey) + "\n", "keys/authority-\(name).pub")
        }
        try write(Self.legacyKey + "\n", "legacy.secret", mode: 0o600)
        var serviceKeys: [String] = []
        for verifier in everyVerifier {
            let name = verifier.name
            let report = reportKeys[name]!
            let audit = auditKeys[name]!
            try write(KeyFiles.privateText(report) + "\n", "keys/\(name)-report.key", mode: 0o600)
            try write(KeyFiles.publicText(report.publicKey) + "\n", "keys/\(name)-report.key.pub")
            try write(KeyFiles.privateText(audit) + "\n", "keys/\(name)-audit.key", mode: 0o600)
            try write(KeyFiles.publicText(audit.publicKey) + "\n", "keys/\(name)-audit.pub")
            try write(verifier.policy + "\n", "policies/\(name).cedar")
            serviceKeys.append("\"\(name)\": \"keys/\(name)-report.key.pub\"")
            try write(verifierConfig(verifier), "\(name).json")
        }
        try write(
            """
            {
              "listen": { "host": "127.0.0.1", "port": \(authorityPort) },
              "origin": "\(authorityURL)",
              "store": "\(store("authority"))",
              "keys": {
                "issuer": "keys/authority-issuer.key", "revocation": "keys/authority-revocation.key",
                "audit": "keys/authority-audit.key", "auditSalt": "keys/authority-audit-salt.key"
              },
              "operatorKeys": ["keys/operator.pub"],
              "serviceKeys": { \(serviceKeys.joined(separator: ", ")) },
              "agentClasses": \(Self.classes),
              "entitlements": \(Self.entitlements)
            }

            """,
            "authority.json"
        )
        try write(deploymentFile(), "deployment.json")
    }

    /// A verifier's configuration; `authority` overrides where it follows the feed (the partition's relay).
    func verifierConfig(_ verifier: Verifier, authority: String? = nil) -> String {
        let name = verifier.name
        let upstream =
            verifier.role == "broker"
            ? """
              "upstream": { "url": "http://127.0.0.1:\(legacyPort)", "secretFile": "legacy.secret" },
              "session": { "rateLimit": 100000 },
            """ : ""
        let approvers =
            name == "repo"
            ? "  \"approvers\": [{ \"name\": \"human\", \"publicKey\": \"\(KeyFiles.publicText(approverKey.publicKey))\" }],\n"
            : ""
        return """
            {
              "listen": { "host": "127.0.0.1", "port": \(verifier.port) },
              "name": "\(name)",
              "authority": "\(authority ?? authorityURL)",
              "policy": "policies/\(name).cedar",
              "maxStalenessSeconds": 5,
              "readinessTimeoutSeconds": 20,
              "store": "\(store(name))",
              "keys": {
                "audit": "keys/\(name)-audit.key", "auditSalt": "keys/\(name)-audit-salt.key",
                "report": "keys/\(name)-report.key"
              },
              "operatorKeys": ["keys/operator.pub"],
              "authorityKeys": { "issuers": ["keys/authority-issuer.pub"], "revocation": ["keys/authority-revocation.pub"] },
            \(approvers)  "agentClasses": \(Self.classes),
            \(upstream)
              \(verifier.role == "mcp" ? Self.toolsSetting : "\"routes\": \(verifier.routes)")
            }

            """
    }

    /// `path` and `tools` of the tool server's configuration.
    static var toolsSetting: String {
        let tools = Self.tools.map { tool in
            #"{ "name": "\#(tool.name)", "action": "\#(tool.action)", "resource": "\#(tool.resource)""#
                + (tool.response.isEmpty ? "" : #", "response": \#(tool.response)"#) + " }"
        }
        return #""path": "/mcp", "tools": ["# + tools.joined(separator: ", ") + "]"
    }

    /// `deployment.json` for `writ drill --deployment` (paths relative to the file's directory).
    func deploymentFile() -> String {
        let services = verifiers.map { verifier in
            """
                { "name": "\(verifier.name)", "url": "\(url(verifier.name))", "verifier": "\(verifier.name)",
                  "auditKey": "keys/\(verifier.name)-audit.pub", "probe": { "method": "GET", "path": "/drill/canary" } }
            """
        }
        return """
            {
              "authority": "\(authorityURL)",
              "authorityAudience": "writ-authority",
              "operatorKey": "keys/operator.key",
              "drillClass": "canary",
              "services": [
            \(services.joined(separator: ",\n"))
              ]
            }

            """
    }
}
#endif
