/// The shape every Writ error shares: a ``code`` to compare (a struct of static values, so a code can be added
/// without breaking anyone's `switch`), words in ``context`` saying what failed (never secret bytes), and for a
/// store, sink or system failure the ``underlying`` error behind it, kept rather than flattened into a string.
///
/// Errors compare and hash by code only, as swift-certificates' do, so a caller writes `error.code == .conflict`
/// or `#expect(throws: AuditError(.storeFailure, ""))`. The default ``description`` is `code: context`, followed by
/// the underlying error in parentheses when there is one; an error with more to say (a block, a line) prints its
/// own.
public protocol WritError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The type of the error's code.
    associatedtype Code: Hashable, Sendable, CustomStringConvertible
    /// What went wrong, for programmatic checks.
    var code: Code { get }
    /// A human-readable explanation naming what failed.
    var context: String { get }
    /// The store's, sink's or system's own error behind this one, when there is one.
    var underlying: (any Error)? { get }
}

extension WritError {
    /// No error behind this one (errors that wrap one store it).
    public var underlying: (any Error)? { nil }

    /// `code: context`, and ` (underlying)` when there is an underlying error.
    public var description: String { "\(code): \(context)" + (underlying.map { " (\($0))" } ?? "") }

    /// Errors are equal when their codes are.
    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.code == rhs.code }

    /// Hashes the code only.
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }
}
