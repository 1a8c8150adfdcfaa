// WritSQLite: Writ's stores on SQLite (GRDB), built only with the `SQLite` package trait.
#if SQLite

/// An error opening or using a Writ SQLite database file: what went wrong and which file.
///
/// Errors compare by ``code``. ``path`` always names the file; ``underlying`` keeps SQLite's own error (GRDB's
/// `DatabaseError`, with the SQL and its result code) when there is one. Store operations wrap this error in their
/// protocol's error (`AuthorityStoreError`, `RevocationError`, `NonceStoreError`, `AuditError`), keeping it as the
/// `underlying` error.
public struct SQLiteStoreError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What went wrong. New codes may be added.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String {
            case notADatabase = "not-a-database"
            case foreignDatabase = "foreign-database"
            case newerSchema = "newer-schema"
            case corrupt
            case busy
            case readOnly = "read-only"
            case diskFull = "disk-full"
            case unavailable
        }

        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// The file is not an SQLite database (or is encrypted).
        public static let notADatabase = Code(.notADatabase)
        /// The file is an SQLite database, but not one of Writ's: it holds other tables and no Writ application id.
        public static let foreignDatabase = Code(.foreignDatabase)
        /// The file was written by a newer version of Writ, with a schema this version does not know.
        public static let newerSchema = Code(.newerSchema)
        /// SQLite found the file damaged (a corrupted page, a failed `PRAGMA integrity_check`), or a stored row is
        /// not in Writ's format.
        public static let corrupt = Code(.corrupt)
        /// Another connection held the database locked for longer than the busy timeout.
        public static let busy = Code(.busy)
        /// The file (or its directory, or the `-wal`/`-shm` files beside it) cannot be written.
        public static let readOnly = Code(.readOnly)
        /// The disk (or the database's page limit) is full: the write was not made, and nothing was acknowledged.
        public static let diskFull = Code(.diskFull)
        /// The file cannot be opened, read or written for another reason (missing, I/O error, …).
        public static let unavailable = Code(.unavailable)

        public var description: String { value.rawValue }
    }

    /// What went wrong.
    public let code: Code
    /// The database file.
    public let path: String
    /// What failed, in words.
    public let context: String
    /// SQLite's own error (GRDB's `DatabaseError`), or the system error, when there is one.
    public let underlying: (any Error)?

    /// Creates an error.
    ///
    /// - Parameters:
    ///   - code: What went wrong.
    ///   - path: The database file.
    ///   - context: What failed, in words (never secret bytes).
    ///   - underlying: SQLite's or the system's error behind it.
    public init(_ code: Code, path: String, _ context: String, underlying: (any Error)? = nil) {
        self.code = code
        self.path = path
        self.context = context
        self.underlying = underlying
    }

    /// `code: 'path': context (underlying)`.
    public var description: String {
        "\(code): '\(path)': \(context)" + (underlying.map { " (\($0))" } ?? "")
    }

    /// Errors are equal when their codes are.
    public static func == (lhs: SQLiteStoreError, rhs: SQLiteStoreError) -> Bool { lhs.code == rhs.code }
    /// Hashes the code only.
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }
}
#endif
