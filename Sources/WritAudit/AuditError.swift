public import WritCrypto

/// An error raised by ``WritAudit``.
///
/// Errors compare by ``code``; ``context`` names what failed (an entry index, a field, a file offset) and never
/// contains a token, key or sensitive value.
public struct AuditError: WritError {
    /// What went wrong.
    ///
    /// New codes may be added: compare codes with `==` (a `switch` needs a `default`). ``description`` is
    /// the stable text that audit logs, JSON output and tests use.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String, Hashable, Sendable {
            case invalidEncoding
            case oversized
            case storeFailure
            case conflict
            case tampered
            case invalidProof
            case invalidSignature
            case inconsistent
            case outOfRange
            case closed
        }

        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// Bytes that should have been an entry, checkpoint, proof or key could not be decoded, or used an
        /// unknown version, kind or field.
        public static let invalidEncoding = Code(.invalidEncoding)
        /// A value was larger than the format allows (field, attribute count, entry, file frame).
        public static let oversized = Code(.oversized)
        /// The store could not read or write (I/O error, full disk); the log recovers on the next append.
        public static let storeFailure = Code(.storeFailure)
        /// An append did not continue the store where it ended (another writer, or a bug).
        public static let conflict = Code(.conflict)
        /// The stored log failed verification: a modified, removed, reordered or inserted entry.
        public static let tampered = Code(.tampered)
        /// A Merkle inclusion or consistency proof did not verify.
        public static let invalidProof = Code(.invalidProof)
        /// A checkpoint's signature did not verify, or no signature by the expected key was present.
        public static let invalidSignature = Code(.invalidSignature)
        /// Two checkpoints or logs cannot both be honest: the later one does not extend the earlier one.
        public static let inconsistent = Code(.inconsistent)
        /// A requested index or tree size lies beyond the log.
        public static let outOfRange = Code(.outOfRange)
        /// The log stopped accepting appends for good: recovering from a store failure found the store no longer
        /// holding what the log acknowledged (fail closed).
        public static let closed = Code(.closed)

        /// The code's stable text (`invalidEncoding`, …).
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
