// WritPostgres: Writ's stores on PostgreSQL (postgres-nio), built only with the `Postgres` package trait.
#if Postgres
internal import PostgresNIO

/// An error raised by WritPostgres itself: configuration, connecting, and the schema it manages.
///
/// The stores report failures in their concept's own error type (`RevocationError`, `NonceStoreError`,
/// `AuthorityStoreError`, `AuditError`), keeping a `PostgresStoreError` as the `underlying` error, so a caller
/// can tell "the server is gone" from "the credentials are wrong" without parsing text.
///
/// Errors compare by ``code``; ``context`` names what failed (never a password).
public struct PostgresStoreError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What went wrong. New codes may be added: compare with `==`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String, Hashable, Sendable {
            case invalidConfiguration, unreachable, authenticationFailed, databaseMissing, tlsUnavailable, tlsUntrusted
            case foreignSchema, newerSchema, unavailable, notRunning
        }

        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// The URL or environment does not describe a usable connection (bad URL, port, schema name, sslmode).
        public static let invalidConfiguration = Code(.invalidConfiguration)
        /// The server could not be reached, or the connection broke.
        public static let unreachable = Code(.unreachable)
        /// The server refused the user name or password.
        public static let authenticationFailed = Code(.authenticationFailed)
        /// The database named in the configuration does not exist.
        public static let databaseMissing = Code(.databaseMissing)
        /// TLS was required but the server does not offer it, or the handshake failed.
        public static let tlsUnavailable = Code(.tlsUnavailable)
        /// The server offered TLS but its certificate is not trusted: no configured root (`sslrootcert`, else the
        /// system's) signed it, or it does not name the host. Nothing was sent over the connection.
        public static let tlsUntrusted = Code(.tlsUntrusted)
        /// The schema holds tables Writ did not create, or a version table of another product.
        public static let foreignSchema = Code(.foreignSchema)
        /// The schema was migrated by a newer Writ than this one.
        public static let newerSchema = Code(.newerSchema)
        /// The server answered with an error (a query failed).
        public static let unavailable = Code(.unavailable)
        /// The ``WritPostgresService`` was shut down (or never run), so there is no connection pool.
        public static let notRunning = Code(.notRunning)

        /// The code's stable text.
        public var description: String { value.rawValue }
    }

    /// What went wrong, for programmatic checks.
    public let code: Code
    /// What failed, in words.
    public let context: String
    /// The postgres-nio error behind this one, when there is one.
    public let underlying: (any Error)?

    /// Creates an error.
    public init(_ code: Code, _ context: String, underlying: (any Error)? = nil) {
        self.code = code
        self.context = context
        self.underlying = underlying
    }

    /// `code: context`.
    public var description: String { "\(code): \(context)" }

    /// Errors are equal when their codes are.
    public static func == (lhs: PostgresStoreError, rhs: PostgresStoreError) -> Bool { lhs.code == rhs.code }
    /// Hashes the code only.
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }

    /// Classifies an error thrown by postgres-nio (or passes a `PostgresStoreError` through).
    static func classify(_ error: any Error, doing what: String) -> PostgresStoreError {
        if let error = error as? PostgresStoreError { return error }
        guard let psql = error as? PSQLError else {
            if error is CancellationError {
                return PostgresStoreError(.unavailable, "\(what): cancelled", underlying: error)
            }
            return PostgresStoreError(.unreachable, "\(what): \(error)", underlying: error)
        }
        if let info = psql.serverInfo {
            let state = info[.sqlState] ?? ""
            let message = info[.message] ?? "server error"
            switch state {
            case "28P01", "28000":
                return PostgresStoreError(.authenticationFailed, "\(what): \(message)", underlying: error)
            case "3D000":
                return PostgresStoreError(.databaseMissing, "\(what): \(message)", underlying: error)
            case let s where s.hasPrefix("08") || s.hasPrefix("57P"):
                return PostgresStoreError(.unreachable, "\(what): \(message) (\(state))", underlying: error)
            default:
                return PostgresStoreError(.unavailable, "\(what): \(message) (\(state))", underlying: error)
            }
        }
        if let cause = psql.underlying, cause is NIOSSLError || cause is BoringSSLError || cause is NIOSSLExtraError {
            let text = String(describing: cause)
            if cause is NIOSSLExtraError || text.contains("CERTIFICATE_VERIFY_FAILED") {
                return PostgresStoreError(
                    .tlsUntrusted,
                    "\(what): the server's TLS certificate is not trusted (no configured root signed it, or it does "
                        + "not name the host): \(text)",
                    underlying: error
                )
            }
            return PostgresStoreError(.tlsUnavailable, "\(what): TLS handshake failed (\(cause))", underlying: error)
        }
        switch psql.code {
        case .sslUnsupported:
            return PostgresStoreError(.tlsUnavailable, "\(what): the server does not offer TLS", underlying: error)
        case .failedToAddSSLHandler:
            return PostgresStoreError(.tlsUnavailable, "\(what): TLS could not be set up", underlying: error)
        case .poolClosed:
            return PostgresStoreError(.notRunning, "\(what): the connection pool is closed", underlying: error)
        case .unsupportedAuthMechanism, .authMechanismRequiresPassword, .saslError:
            return PostgresStoreError(.authenticationFailed, "\(what): authentication failed", underlying: error)
        default:
            let detail = psql.underlying.map { " (\($0))" } ?? ""
            return PostgresStoreError(.unreachable, "\(what): \(psql.code)\(detail)", underlying: error)
        }
    }
}
#endif
