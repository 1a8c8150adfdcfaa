public import WritCrypto

/// An error raised by ``WritRevocation``.
///
/// Errors compare by ``code``; ``context`` names what failed.
public struct RevocationError: WritError {
    /// What went wrong.
    ///
    /// New codes may be added: compare codes with `==` (a `switch` needs a `default`). ``description`` is
    /// the stable text that audit logs, JSON output and tests use.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String, Hashable, Sendable {
            case revoked
            case stale
            case invalidTarget
            case invalidArgument
            case storeUnavailable
            case corruptStore
            case malformed
            case tampered
        }

        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// The credential is revoked.
        public static let revoked = Code(.revoked)
        /// The verifier's revocation data is older than its staleness bound, so it fails closed.
        public static let stale = Code(.stale)
        /// A task or agent name was empty or too long, or a stored target could not be parsed.
        public static let invalidTarget = Code(.invalidTarget)
        /// An argument was out of range (a page limit below 1, a sequence of 0, an empty verifier name).
        public static let invalidArgument = Code(.invalidArgument)
        /// The store could not be read or written.
        public static let storeUnavailable = Code(.storeUnavailable)
        /// The store returned data that breaks its contract (e.g. sequence 0).
        public static let corruptStore = Code(.corruptStore)
        /// A feed record is not in the canonical binary form (bad version, kind, length or field).
        public static let malformed = Code(.malformed)
        /// The feed is not what the authority signed: a bad or unknown signature, a broken chain, entries missing
        /// behind a signed head, a rollback or a fork.
        public static let tampered = Code(.tampered)

        /// The code's stable text (`revoked`, …).
        public var description: String { value.rawValue }
    }

    /// What went wrong, for programmatic checks.
    public let code: Code
    /// A human-readable explanation naming what failed.
    public let context: String

    /// The store's, sink's or system's own error behind this one, when there is one.
    public let underlying: (any Error)?

    /// Creates an error.
    ///
    /// - Parameters:
    ///   - code: What went wrong.
    ///   - context: What failed, in words (never secret bytes).
    ///   - underlying: The error behind it (a store, sink or system error), kept rather than flattened.
    public init(_ code: Code, _ context: String, underlying: (any Error)? = nil) {
        self.code = code
        self.context = context
        self.underlying = underlying
    }

}
