#if CLI
import Foundation
import Writ
import WritCrypto
import WritIdentity
import WritTokens

/// The JSON configuration of `writ serve authority` (`--config FILE`).
///
/// Key files are created on first start when absent (with their paths printed); so is the SQLite store.
struct AuthorityServeConfig: Decodable {
    /// Where the server listens.
    struct Listen: Decodable {
        var host: String
        var port: Int
    }

    /// The key files (`writsk1_` private key files, created with mode 0600 when absent).
    struct Keys: Decodable {
        /// Signs identity documents and root token blocks.
        var issuer: String
        /// Signs the revocation feed.
        var revocation: String
        /// Signs the authority's audit checkpoints.
        var audit: String
        /// The audit log's salt (a private key file whose seed is the salt).
        var auditSalt: String
    }

    /// One agent class, with durations in seconds.
    struct Class: Decodable {
        var name: String
        var defaultTTLSeconds: Int
        var maximumTTLSeconds: Int
        var refreshLimit: Int?
        var maximumDelegationDepth: Int?
        var mayDelegate: Bool?
    }

    /// One entitlement of a class.
    struct Grant: Decodable {
        var audience: String
        var actions: [String]
        var resources: [ResourcePattern]
    }

    var listen: Listen
    /// The public origin clients sign for (default: `http://HOST:PORT` of `listen`).
    var origin: String?
    /// The authority's audience (default `writ-authority`).
    var audience: String?
    /// `sqlite:PATH` or `postgres://…` (the schema from its `schema` parameter, default `writ`).
    var store: String
    var keys: Keys
    /// Operator public key files.
    var operatorKeys: [String]
    /// Service (verifier) public key files, by verifier name.
    var serviceKeys: [String: String]?
    var agentClasses: [Class]
    var entitlements: [String: [Grant]]

    /// The configuration in `path`, with relative paths resolved against the configuration's directory.
    static func load(_ path: String) throws -> AuthorityServeConfig {
        let data: Data
        do { data = try readFile(path) } catch { throw CLIError.input("--config: \(describe(error))") }
        try refuseUnknownKeys(
            in: data,
            known: [
                "": [
                    "listen", "origin", "audience", "store", "keys", "operatorKeys", "serviceKeys", "agentClasses",
                    "entitlements",
                ],
                "listen": ["host", "port"],
                "keys": ["issuer", "revocation", "audit", "auditSalt"],
                "agentClasses[]": [
                    "name", "defaultTTLSeconds", "maximumTTLSeconds", "refreshLimit", "maximumDelegationDepth",
                    "mayDelegate",
                ],
            ],
            role: "authority",
            path: path
        )
        var config: AuthorityServeConfig
        do {
            config = try JSONDecoder().decode(AuthorityServeConfig.self, from: data)
        } catch {
            throw CLIError.input("--config '\(path)': \(describe(error))")
        }
        guard (0...65535).contains(config.listen.port) else {
            throw CLIError.input("--config '\(path)': listen.port: \(config.listen.port) is not a TCP port")
        }
        guard !config.agentClasses.isEmpty else {
            throw CLIError.input("--config '\(path)': agentClasses: at least one class is needed")
        }
        for name in config.entitlements.keys where !config.agentClasses.contains(where: { $0.name == name }) {
            throw CLIError.input("--config '\(path)': entitlements.\(name): no agent class '\(name)'")
        }
        let base = (path as NSString).deletingLastPathComponent
        func resolve(_ file: String) -> String {
            file.hasPrefix("/") || base.isEmpty ? file : (base as NSString).appendingPathComponent(file)
        }
        config.keys = Keys(
            issuer: resolve(config.keys.issuer),
            revocation: resolve(config.keys.revocation),
            audit: resolve(config.keys.audit),
            auditSalt: resolve(config.keys.auditSalt)
        )
        config.operatorKeys = config.operatorKeys.map(resolve)
        config.serviceKeys = config.serviceKeys?.mapValues(resolve)
        let lower = config.store.lowercased()
        if lower.hasPrefix("sqlite:") {
            let file = String(config.store.dropFirst("sqlite:".count))
            if !file.isEmpty { config.store = "sqlite:" + resolve(file) }
        }
        return config
    }

    /// The agent classes.
    func classes() throws -> [AgentClass] {
        try agentClasses.map { spec in
            do {
                return try AgentClass(
                    name: spec.name,
                    defaultTTL: .seconds(spec.defaultTTLSeconds),
                    maximumTTL: .seconds(spec.maximumTTLSeconds),
                    maximumDelegationDepth: spec.maximumDelegationDepth ?? 0,
                    mayDelegate: spec.mayDelegate ?? false,
                    refreshLimit: spec.refreshLimit ?? 0
                )
            } catch {
                throw CLIError.input("--config: agentClasses '\(spec.name)': \(error)")
            }
        }
    }

    /// The entitlement table.
    func entitlementTable() -> EntitlementTable {
        EntitlementTable(
            entitlements.mapValues { grants in
                grants.map { Entitlement(audience: $0.audience, actions: Set($0.actions), resources: $0.resources) }
            }
        )
    }

    /// A complete example, for `--help` and `--print-example-config`.
    static let example = """
        {
          "listen": { "host": "127.0.0.1", "port": 8080 },
          "origin": "http://127.0.0.1:8080",
          "audience": "writ-authority",
          "store": "sqlite:writ-authority/authority.sqlite",
          "keys": {
            "issuer": "writ-authority/keys/issuer.key",
            "revocation": "writ-authority/keys/revocation.key",
            "audit": "writ-authority/keys/audit.key",
            "auditSalt": "writ-authority/keys/audit-salt.key"
          },
          "operatorKeys": ["writ-authority/keys/operator.pub"],
          "serviceKeys": { "repo": "writ-authority/keys/repo.pub" },
          "agentClasses": [
            { "name": "coder", "defaultTTLSeconds": 300, "maximumTTLSeconds": 900, "refreshLimit": 3 }
          ],
          "entitlements": {
            "coder": [
              { "audience": "repo", "actions": ["get", "post"], "resources": ["repo/writ/*"] }
            ]
          }
        }
        """
}

/// Reads the private key file at `path`, creating it (mode 0600, parent directories too) when absent.
func loadOrCreatePrivateKey(_ path: String, what: String) throws -> Ed25519.PrivateKey {
    if FileManager.default.fileExists(atPath: path) {
        do { return try KeyFiles.readPrivate(path) } catch let error as CLIError {
            throw CLIError.input("\(what) key: \(error.message)")
        } catch {
            throw CLIError.input("\(what) key '\(path)': \(describe(error))")
        }
    }
    let directory = (path as NSString).deletingLastPathComponent
    if !directory.isEmpty {
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }
    let key = Ed25519.PrivateKey()
    try OutputFile.create(path, contents: KeyFiles.privateText(key) + "\n", mode: 0o600, option: "\(what) key")
    writeLine("created \(what) key \(path) (key id \(key.publicKey.keyID))")
    return key
}

/// Writes `line` on standard output at once (standard output may be a pipe, which `print` buffers).
func writeLine(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}
#endif
