#if Postgres
public import Foundation
internal import PostgresNIO

/// Where and how WritPostgres connects: server, credentials, database, TLS, and the schema that holds one Writ
/// deployment's tables (so several deployments can share one database).
///
/// Build it from a URL (`postgres://user:password@host:5432/database?sslmode=require&schema=writ`) or from the
/// environment (``init(environment:)``: `WRIT_POSTGRES_URL`, else the libpq variables `PGHOST`, `PGPORT`,
/// `PGUSER`, `PGPASSWORD`, `PGDATABASE`, `PGSSLMODE`, with `WRIT_POSTGRES_SCHEMA` for the schema).
/// ``description`` never shows the password.
public struct WritPostgresConfiguration: Sendable, Hashable, CustomStringConvertible {
    /// Whether the connection uses TLS (the URL's `sslmode`).
    public enum TLSMode: String, Sendable, Hashable {
        /// Plain TCP only (`sslmode=disable`).
        case disable
        /// TLS when the server offers it, else plain TCP (`allow`, `prefer`, or no `sslmode`: libpq's default).
        /// Not a protection against an active attacker.
        case prefer
        /// TLS or no connection, with the server's certificate checked against the system's (or `sslrootcert`'s)
        /// roots and its host name (`require`, `verify-full`). Writ checks the certificate even for `require`,
        /// which libpq does not: an unchecked certificate protects nothing against an active attacker.
        case require
        /// TLS or no connection, the certificate checked against the roots but not the host name (`verify-ca`).
        case verifyCA = "verify-ca"
    }

    /// The server's host name or address.
    public var host: String
    /// The server's port.
    public var port: Int
    /// The user name.
    public var username: String
    /// The password (never printed).
    public var password: String?
    /// The database.
    public var database: String
    /// TLS behaviour.
    public var tls: TLSMode
    /// A PEM file of trusted root certificates for TLS (`sslrootcert`), or `nil` for the system's roots.
    public var rootCertificatePath: String?
    /// The schema holding this deployment's tables: 1–48 characters of `a-z`, `0-9`, `_`, not starting with a
    /// digit (it names tables and the LISTEN channel, so it is checked, never quoted from input).
    public var schema: String
    /// The most connections the pool opens (besides the one the LISTEN loop holds).
    public var maximumConnections: Int
    /// How long opening one connection may take.
    public var connectTimeout: Duration
    /// The most a statement may run, or a transaction sit idle, on the server (`statement_timeout` and
    /// `idle_in_transaction_session_timeout` on every pooled connection; 30 s unless set, whole milliseconds).
    ///
    /// Writ's statements take milliseconds; the bound is there so that nothing waits without end: a statement
    /// queued behind a lock a stalled client holds fails (`unavailable`) instead, and a connection whose client
    /// went away mid-transaction gives its locks back.
    public var statementTimeout: Duration = .seconds(30)

    /// The schema used when none is given.
    public static let defaultSchema = "writ"

    /// Creates a configuration.
    ///
    /// - Throws: ``PostgresStoreError`` with code `invalidConfiguration` for an invalid schema name or port.
    public init(
        host: String = "127.0.0.1",
        port: Int = 5432,
        username: String = "postgres",
        password: String? = nil,
        database: String = "postgres",
        tls: TLSMode = .prefer,
        rootCertificatePath: String? = nil,
        schema: String = WritPostgresConfiguration.defaultSchema,
        maximumConnections: Int = 8,
        connectTimeout: Duration = .seconds(5)
    ) throws(PostgresStoreError) {
        guard (1...65535).contains(port) else {
            throw PostgresStoreError(.invalidConfiguration, "port \(port) is not 1...65535")
        }
        guard maximumConnections >= 1 else {
            throw PostgresStoreError(.invalidConfiguration, "maximumConnections must be at least 1")
        }
        try Self.validate(schema: schema)
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.tls = tls
        self.rootCertificatePath = rootCertificatePath
        self.schema = schema
        self.maximumConnections = maximumConnections
        self.connectTimeout = connectTimeout
    }

    /// Parses a `postgres://` or `postgresql://` URL; `schema` overrides the URL's `schema` parameter.
    ///
    /// Recognised query parameters: `sslmode` (`disable`, `allow`, `prefer`, `require`, `verify-ca`,
    /// `verify-full`), `sslrootcert`, `schema`, `connect_timeout` (seconds). Any other parameter is refused, so a
    /// misspelt `sslmode` never silently turns TLS off.
    ///
    /// - Throws: ``PostgresStoreError`` with code `invalidConfiguration` naming what is wrong.
    public init(url: String, schema: String? = nil) throws(PostgresStoreError) {
        guard let components = URLComponents(string: url), let scheme = components.scheme,
            scheme == "postgres" || scheme == "postgresql"
        else {
            throw PostgresStoreError(.invalidConfiguration, "not a postgres:// URL")
        }
        var tls = TLSMode.prefer
        var root: String?
        var schemaName = schema
        var timeout = Duration.seconds(5)
        for item in components.queryItems ?? [] {
            let value = item.value ?? ""
            switch item.name {
            case "sslmode": tls = try Self.tlsMode(value)
            case "sslrootcert": root = value
            case "schema": if schema == nil { schemaName = value }
            case "connect_timeout":
                guard let seconds = Int(value), seconds > 0 else {
                    throw PostgresStoreError(
                        .invalidConfiguration,
                        "connect_timeout '\(value)' is not a positive number"
                    )
                }
                timeout = .seconds(seconds)
            default:
                throw PostgresStoreError(.invalidConfiguration, "unknown URL parameter '\(item.name)'")
            }
        }
        let path =
            components.percentEncodedPath.hasPrefix("/")
            ? String(components.percentEncodedPath.dropFirst()) : components.percentEncodedPath
        try self.init(
            host: components.host.flatMap { $0.isEmpty ? nil : $0 } ?? "127.0.0.1",
            port: components.port ?? 5432,
            username: components.user ?? "postgres",
            password: components.password,
            database: path.isEmpty ? "postgres" : (path.removingPercentEncoding ?? path),
            tls: tls,
            rootCertificatePath: root,
            schema: schemaName ?? Self.defaultSchema,
            connectTimeout: timeout
        )
    }

    /// Reads `WRIT_POSTGRES_URL`, or else the libpq variables (`PGHOST`, `PGPORT`, `PGUSER`, `PGPASSWORD`,
    /// `PGDATABASE`, `PGSSLMODE`, `PGSSLROOTCERT`); `WRIT_POSTGRES_SCHEMA` names the schema in both cases.
    ///
    /// - Returns: `nil` when neither `WRIT_POSTGRES_URL` nor `PGHOST` nor `PGDATABASE` is set.
    /// - Throws: ``PostgresStoreError`` with code `invalidConfiguration`.
    public init?(environment: [String: String] = ProcessInfo.processInfo.environment) throws(PostgresStoreError) {
        let schema = environment["WRIT_POSTGRES_SCHEMA"]
        if let url = environment["WRIT_POSTGRES_URL"], !url.isEmpty {
            try self.init(url: url, schema: schema)
            return
        }
        guard environment["PGHOST"] != nil || environment["PGDATABASE"] != nil else { return nil }
        var port = 5432
        if let text = environment["PGPORT"] {
            guard let value = Int(text) else {
                throw PostgresStoreError(.invalidConfiguration, "PGPORT '\(text)' is not a number")
            }
            port = value
        }
        let user = environment["PGUSER"] ?? environment["USER"] ?? "postgres"
        try self.init(
            host: environment["PGHOST"] ?? "127.0.0.1",
            port: port,
            username: user,
            password: environment["PGPASSWORD"],
            database: environment["PGDATABASE"] ?? user,
            tls: try environment["PGSSLMODE"].map(Self.tlsMode) ?? .prefer,
            rootCertificatePath: environment["PGSSLROOTCERT"],
            schema: schema ?? Self.defaultSchema
        )
    }

    /// The same configuration with another schema.
    ///
    /// - Throws: ``PostgresStoreError`` with code `invalidConfiguration` for an invalid name.
    public func withSchema(_ schema: String) throws(PostgresStoreError) -> WritPostgresConfiguration {
        try Self.validate(schema: schema)
        var copy = self
        copy.schema = schema
        return copy
    }

    /// `postgres://user@host:port/database?sslmode=…&schema=…` (no password).
    public var description: String {
        "postgres://\(username)@\(host):\(port)/\(database)?sslmode=\(tls.rawValue)&schema=\(schema)"
    }

    // MARK: Internals

    static func validate(schema: String) throws(PostgresStoreError) {
        let bytes = Array(schema.utf8)
        let allowed = bytes.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5F }
        guard (1...48).contains(bytes.count), allowed, let first = bytes.first, !(0x30...0x39).contains(first) else {
            throw PostgresStoreError(
                .invalidConfiguration,
                "schema '\(schema.prefix(64))' must be 1-48 characters of a-z, 0-9, _ and not start with a digit"
            )
        }
    }

    static func tlsMode(_ text: String) throws(PostgresStoreError) -> TLSMode {
        switch text {
        case "disable": .disable
        case "allow", "prefer": .prefer
        case "require", "verify-full": .require
        case "verify-ca": .verifyCA
        default: throw PostgresStoreError(.invalidConfiguration, "unknown sslmode '\(text)'")
        }
    }

    /// The TLS settings the URL asks for (`nil` for `disable`) and whether TLS is required.
    private func tlsSettings() -> (configuration: TLSConfiguration?, required: Bool) {
        var tlsConfiguration = TLSConfiguration.makeClientConfiguration()
        if let rootCertificatePath { tlsConfiguration.trustRoots = .file(rootCertificatePath) }
        switch tls {
        case .disable: return (nil, false)
        case .prefer: return (tlsConfiguration, false)
        case .require: return (tlsConfiguration, true)
        case .verifyCA:
            tlsConfiguration.certificateVerification = .noHostnameVerification
            return (tlsConfiguration, true)
        }
    }

    /// The configuration of one direct connection (to diagnose why the pool cannot connect).
    func connectionConfiguration() throws -> PostgresConnection.Configuration {
        let settings = tlsSettings()
        let mode: PostgresConnection.Configuration.TLS
        if let tlsConfiguration = settings.configuration {
            let context = try NIOSSLContext(configuration: tlsConfiguration)
            mode = settings.required ? .require(context) : .prefer(context)
        } else {
            mode = .disable
        }
        var configuration = PostgresConnection.Configuration(
            host: host,
            port: port,
            username: username,
            password: password,
            database: database,
            tls: mode
        )
        configuration.options.connectTimeout = .nanoseconds(Int64(connectTimeout.components.seconds) * 1_000_000_000)
        return configuration
    }

    /// ``statementTimeout`` in whole milliseconds, clamped to what the server accepts (1…2³¹−1).
    var statementTimeoutMilliseconds: Int {
        Int(min(max((statementTimeout / .milliseconds(1)).rounded(.up), 1), 2_147_483_647))
    }

    /// The postgres-nio client configuration.
    func clientConfiguration() throws(PostgresStoreError) -> PostgresClient.Configuration {
        var tlsConfiguration = TLSConfiguration.makeClientConfiguration()
        if let rootCertificatePath { tlsConfiguration.trustRoots = .file(rootCertificatePath) }
        let mode: PostgresClient.Configuration.TLS
        switch tls {
        case .disable: mode = .disable
        case .prefer: mode = .prefer(tlsConfiguration)
        case .require: mode = .require(tlsConfiguration)
        case .verifyCA:
            tlsConfiguration.certificateVerification = .noHostnameVerification
            mode = .require(tlsConfiguration)
        }
        if tls != .disable {
            // Read the roots now: a missing or malformed sslrootcert is a configuration error, never a reason to
            // trust the system's roots instead (or to fail later as if the server were at fault).
            do {
                _ = try NIOSSLContext(configuration: tlsConfiguration)
            } catch {
                throw PostgresStoreError(
                    .invalidConfiguration,
                    "the TLS roots \(rootCertificatePath.map { "in '\($0)'" } ?? "of the system") cannot be read: \(error)",
                    underlying: error
                )
            }
        }
        var configuration = PostgresClient.Configuration(
            host: host,
            port: port,
            username: username,
            password: password,
            database: database,
            tls: mode
        )
        configuration.options.maximumConnections = maximumConnections
        configuration.options.connectTimeout = connectTimeout
        let bound = String(statementTimeoutMilliseconds)
        configuration.options.additionalStartupParameters = [
            ("application_name", "writ"),
            ("statement_timeout", bound),
            ("idle_in_transaction_session_timeout", bound),
        ]
        return configuration
    }
}
#endif
