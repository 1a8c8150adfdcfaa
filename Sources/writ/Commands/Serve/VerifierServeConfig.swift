#if CLI
import Foundation
import Writ
import WritCrypto
import WritHTTP
import WritIdentity

/// A JSON value, for a route's fixed response body.
enum JSONValue: Codable, Sendable, Hashable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }
}

/// The JSON configuration of `writ serve service` and `writ serve broker` (`--config FILE`): a verifier that
/// trusts an authority reached over HTTP.
///
/// Its own keys (audit, audit salt, watermark report) are created on first start when absent, with the report
/// key's public half written beside it (`PATH.pub`) for the authority's `serviceKeys`.
struct VerifierServeConfig: Decodable {
    /// The verifier's own key files (`writsk1_` private key files, created with mode 0600 when absent).
    struct Keys: Decodable {
        /// Signs the verifier's audit checkpoints.
        var audit: String
        /// The audit log's salt (a private key file whose seed is the salt).
        var auditSalt: String
        /// Signs the watermark reports posted to the authority (and its anomaly reports); the authority lists its
        /// public half under `serviceKeys`.
        var report: String
    }

    /// One route: what a method and path pattern map to, and (for a service) what it answers.
    struct Route: Decodable {
        /// `GET`, `POST`, … or `*`.
        var method: String
        /// `/literal/:name/*`.
        var path: String
        /// The Writ action.
        var action: String
        /// The resource template (`repo/:name/*`).
        var resource: String
        /// The status of a granted request (default 200).
        var status: Int?
        /// A fixed JSON body (default: an echo of the granted request).
        var response: JSONValue?
    }

    /// The broker's upstream API.
    struct Upstream: Decodable {
        /// The upstream base URL (`http://legacy.example`).
        var url: String
        /// The file holding the static key (its first line; keep it mode 0600).
        var secretFile: String
        /// The header carrying the key upstream (default `Authorization`).
        var header: String?
        /// Text before the key in that header (default `Bearer `).
        var prefix: String?
        /// The upstream call's timeout in seconds (default 30).
        var timeoutSeconds: Int?
    }

    /// What each task may do through the broker.
    struct Session: Decodable {
        /// The actions allowed (default: every action of `routes`).
        var operations: [String]?
        /// Calls allowed per window (default 60).
        var rateLimit: Int?
        /// The window in seconds (default 60).
        var windowSeconds: Int?
    }

    var listen: AuthorityServeConfig.Listen
    /// The public origin clients sign for (default: `http://HOST:PORT` of `listen`).
    var origin: String?
    /// The verifier's name: its audience, and its verifier name for watermarks.
    var name: String
    /// The authority's base URL (its origin).
    var authority: String
    /// The authority's audience (default `writ-authority`).
    var authorityAudience: String?
    /// The Cedar policy file.
    var policy: String
    /// How old revocation data may be before requests are refused (default 5 s).
    var maxStalenessSeconds: Int?
    /// How long to wait for the authority at start before exiting (default: wait until stopped).
    var readinessTimeoutSeconds: Int?
    /// `sqlite:PATH` (default `sqlite:<name>.sqlite` beside the config) or `postgres://…`.
    var store: String?
    var keys: Keys
    /// The agent classes tokens may name (as the authority's).
    var agentClasses: [AuthorityServeConfig.Class]
    /// The routes (first match wins); requests matching none get 404 before any check.
    var routes: [Route]
    /// The largest request body accepted (default 1 MiB).
    var maximumBodyBytes: Int?
    /// The broker's upstream (broker only).
    var upstream: Upstream?
    /// The broker's per-task session (broker only).
    var session: Session?
    /// Public key files of the operators who may read the audit log at `GET /v1/audit` (none: no such route).
    var operatorKeys: [String]?
    /// The approver keys whose `Writ-Approval` headers may satisfy checkpoints (`ServeVerifierSettings.swift`).
    var approvers: [ApproverSetting]?
    /// The anomaly detectors (default: the core's defaults) (`ServeVerifierSettings.swift`).
    var detectors: DetectorSettings?
    /// The authority's public keys this verifier pins (`ServeVerifierSettings.swift`); absent, the trust bundle
    /// fetched at start is trusted as served.
    var authorityKeys: AuthorityKeysSetting?

    /// The configuration in `path`, with relative paths resolved against the configuration's directory.
    static func load(_ path: String, role: String) throws -> VerifierServeConfig {
        let data: Data
        do { data = try readFile(path) } catch { throw CLIError.input("--config: \(describe(error))") }
        func bad(_ message: String) -> CLIError { CLIError.input("--config '\(path)': \(message)") }
        try refuseUnknownKeys(
            in: data,
            known: [
                "": [
                    "listen", "origin", "name", "authority", "authorityAudience", "policy", "maxStalenessSeconds",
                    "readinessTimeoutSeconds", "store", "keys", "agentClasses", "routes", "maximumBodyBytes",
                    "upstream", "session", "operatorKeys",
                    "approvers", "detectors", "authorityKeys",
                ],
                "authorityKeys": ["issuers", "revocation"],
                "listen": ["host", "port"],
                "keys": ["audit", "auditSalt", "report"],
                "upstream": ["url", "secretFile", "header", "prefix", "timeoutSeconds"],
                "session": ["operations", "rateLimit", "windowSeconds"],
            ],
            role: role,
            path: path
        )
        try refuseUnknownNestedKeys(in: data, role: role, path: path)
        var config: VerifierServeConfig
        do {
            config = try JSONDecoder().decode(VerifierServeConfig.self, from: data)
        } catch {
            throw CLIError.input("--config '\(path)': \(describe(error))")
        }
        guard (0...65535).contains(config.listen.port) else {
            throw bad("listen.port: \(config.listen.port) is not a TCP port")
        }
        guard !config.name.isEmpty else { throw bad("name: empty") }
        guard !config.agentClasses.isEmpty else { throw bad("agentClasses: at least one class is needed") }
        guard !config.routes.isEmpty else { throw bad("routes: at least one route is needed") }
        if let seconds = config.maxStalenessSeconds, seconds < 1 || seconds > 3600 {
            throw bad("maxStalenessSeconds: \(seconds) is not between 1 and 3600")
        }
        if let seconds = config.readinessTimeoutSeconds, seconds < 1 {
            throw bad("readinessTimeoutSeconds: \(seconds) is not positive")
        }
        if let bytes = config.maximumBodyBytes, bytes < 0 || bytes > 64 << 20 {
            throw bad("maximumBodyBytes: \(bytes) is not between 0 and 64 MiB")
        }
        for (i, route) in config.routes.enumerated() {
            if let status = route.status, !(200...599).contains(status) {
                throw bad("routes[\(i)].status: \(status) is not an HTTP status")
            }
            do {
                _ = try WritRouteMap.Rule(
                    method: route.method,
                    path: route.path,
                    action: route.action,
                    resource: route.resource
                )
            } catch {
                throw bad("routes[\(i)]: \(error.message)")
            }
        }
        switch role {
        case "broker":
            guard let upstream = config.upstream else { throw bad("upstream: missing (the broker's upstream API)") }
            guard let url = URL(string: upstream.url), url.scheme == "http" || url.scheme == "https",
                url.host != nil
            else {
                throw bad("upstream.url: '\(upstream.url)' is not an http(s) URL")
            }
            if let seconds = upstream.timeoutSeconds, seconds < 1 || seconds > 600 {
                throw bad("upstream.timeoutSeconds: \(seconds) is not between 1 and 600")
            }
            if let limit = config.session?.rateLimit, limit < 1 { throw bad("session.rateLimit: must be positive") }
            if let seconds = config.session?.windowSeconds, seconds < 1 {
                throw bad("session.windowSeconds: must be positive")
            }
        default:
            if config.upstream != nil || config.session != nil {
                throw bad("upstream and session are broker settings (use `writ serve broker`)")
            }
        }
        config.resolvePaths(relativeTo: path)
        try config.checkKeySettings()
        return config
    }

    /// Resolves every file the configuration names (policy, keys, the broker's secret, operator, approver and
    /// authority key files, a `sqlite:` store, defaulting to `sqlite:<name>.sqlite`) against the directory of the
    /// configuration file at `configPath`; absolute paths stay as they are. One place for `writ serve service`,
    /// `broker` and `mcp`, so that a setting added to one resolves for all.
    mutating func resolvePaths(relativeTo configPath: String) {
        let base = (configPath as NSString).deletingLastPathComponent
        func resolve(_ file: String) -> String {
            file.hasPrefix("/") || base.isEmpty ? file : (base as NSString).appendingPathComponent(file)
        }
        policy = resolve(policy)
        keys = Keys(audit: resolve(keys.audit), auditSalt: resolve(keys.auditSalt), report: resolve(keys.report))
        if let secretFile = upstream?.secretFile { upstream?.secretFile = resolve(secretFile) }
        operatorKeys = operatorKeys?.map(resolve)
        approvers = approvers?.map {
            ApproverSetting(name: $0.name, publicKey: $0.publicKey, publicKeyFile: $0.publicKeyFile.map(resolve))
        }
        authorityKeys = authorityKeys.map {
            AuthorityKeysSetting(issuers: $0.issuers.map(resolve), revocation: $0.revocation.map(resolve))
        }
        let store = self.store ?? "sqlite:\(name).sqlite"
        if store.lowercased().hasPrefix("sqlite:") {
            let file = String(store.dropFirst("sqlite:".count))
            self.store = file.isEmpty ? store : "sqlite:" + resolve(file)
        } else {
            self.store = store
        }
    }

    /// Reads and checks the approver, detector and authority key settings, so a bad one fails at load.
    func checkKeySettings() throws {
        _ = try approverSet()
        _ = try anomalyDetectors()
        _ = try authorityKeyPins()
    }

    /// The operator keys of `operatorKeys` (empty when none are configured).
    func operatorKeySet() throws -> Set<Ed25519.PublicKey> {
        var keys = Set<Ed25519.PublicKey>()
        for path in operatorKeys ?? [] {
            do { keys.insert(try KeyFiles.readPublic(path)) } catch let error as CLIError {
                throw CLIError.input("operatorKeys: \(error.message)")
            }
        }
        return keys
    }

    /// The route map the middleware uses.
    func routeMap() throws -> WritRouteMap {
        WritRouteMap(
            rules: try routes.map {
                try WritRouteMap.Rule(method: $0.method, path: $0.path, action: $0.action, resource: $0.resource)
            }
        )
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

    /// A complete example for `role` (`service` or `broker`), for `--help` and `--print-example-config`.
    static func example(_ role: String) -> String {
        role == "broker" ? brokerExample : serviceExample
    }

    static let serviceExample = """
        {
          "listen": { "host": "127.0.0.1", "port": 8081 },
          "origin": "http://127.0.0.1:8081",
          "name": "repo",
          "authority": "http://127.0.0.1:8080",
          "authorityAudience": "writ-authority",
          "policy": "repo.cedar",
          "maxStalenessSeconds": 5,
          "readinessTimeoutSeconds": 120,
          "store": "sqlite:writ-repo/repo.sqlite",
          "keys": {
            "audit": "writ-repo/keys/audit.key",
            "auditSalt": "writ-repo/keys/audit-salt.key",
            "report": "writ-repo/keys/report.key"
          },
          "agentClasses": [
            { "name": "coder", "defaultTTLSeconds": 300, "maximumTTLSeconds": 900, "refreshLimit": 3 }
          ],
          "maximumBodyBytes": 1048576,
          "operatorKeys": ["writ-repo/keys/operator.pub"],
          "approvers": [{ "name": "alice", "publicKeyFile": "writ-repo/keys/alice.pub" }],
          "detectors": {
            "denialBurst": { "threshold": 5, "windowSeconds": 60 },
            "resourceProbe": { "threshold": 20, "windowSeconds": 60 },
            "rateSpike": { "limit": 100, "windowSeconds": 10 },
            "useAfterClose": { "tolerated": 1, "windowSeconds": 60 }
          },
          "routes": [
            { "method": "GET", "path": "/repo/:name/*", "action": "get", "resource": "repo/:name/*" },
            { "method": "POST", "path": "/repo/:name/*", "action": "post", "resource": "repo/:name/*",
              "status": 201, "response": { "ok": true } }
          ]
        }
        """

    static let brokerExample = """
        {
          "listen": { "host": "127.0.0.1", "port": 8082 },
          "origin": "http://127.0.0.1:8082",
          "name": "payments",
          "authority": "http://127.0.0.1:8080",
          "policy": "payments.cedar",
          "maxStalenessSeconds": 5,
          "store": "sqlite:writ-payments/payments.sqlite",
          "keys": {
            "audit": "writ-payments/keys/audit.key",
            "auditSalt": "writ-payments/keys/audit-salt.key",
            "report": "writ-payments/keys/report.key"
          },
          "agentClasses": [
            { "name": "coder", "defaultTTLSeconds": 300, "maximumTTLSeconds": 900, "refreshLimit": 3 }
          ],
          "routes": [
            { "method": "GET", "path": "/v1/charges/*", "action": "get", "resource": "payments/charges/*" },
            { "method": "POST", "path": "/v1/charges", "action": "charge", "resource": "payments/charges" }
          ],
          "upstream": {
            "url": "https://legacy-payments.example",
            "secretFile": "writ-payments/upstream.secret",
            "header": "Authorization",
            "prefix": "Bearer ",
            "timeoutSeconds": 30
          },
          "session": { "operations": ["get", "charge"], "rateLimit": 60, "windowSeconds": 60 }
        }
        """
}

/// Whether `method` and `path` match a route pattern of the `WritRouteMap.Rule` syntax (`/lit/:name/*`).
func routeMatches(_ route: VerifierServeConfig.Route, method: String, path: String) -> Bool {
    guard route.method == "*" || route.method.uppercased() == method.uppercased() else { return false }
    let pattern = route.path.dropFirst().split(separator: "/", omittingEmptySubsequences: false)
    let segments = path.dropFirst().split(separator: "/", omittingEmptySubsequences: false)
    var i = 0
    for piece in pattern {
        if piece == "*" { return i < segments.count }
        guard i < segments.count else { return false }
        if piece.hasPrefix(":"), piece.count > 1 {
            guard !segments[i].isEmpty else { return false }
        } else if piece != segments[i] {
            return false
        }
        i += 1
    }
    return i == segments.count
}
#endif
