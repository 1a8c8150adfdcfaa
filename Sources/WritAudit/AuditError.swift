/// An error raised by ``WritAudit``.
///
/// Errors compare by ``code``; ``context`` names what failed (an entry index, a field, a file offset) and never
/// contains a token, key or sensitive value.
public struct AuditError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What went wrong.
    public enum Code: String, Hashable, Sendable {
        /// Bytes that should have been an entry, checkpoint, proof or key could not be decoded, or used an
        /// unknown version, kind or field.
        case invalidEncoding
        /// A value was larger than the format allows (field, attribute count, entry, file frame).
        case oversized
        /// The store could not read or write (I/O error, full disk); the log recovers on the next append.
        case storeFailure
        /// An append did not continue the store where it ended (another writer, or a bug).
        case conflict
        /// The stored log failed verification: a modified, removed, reordered or inserted entry.
        case tampered
        /// A Merkle inclusion or consistency proof did not verify.
        case invalidProof
        /// A checkpoint's signature did not verify, or no signature by the expected key was present.
        case invalidSignature
        /// Two checkpoints or logs cannot both be honest: the later one does not extend the earlier one.
        case inconsistent
        /// A requested index or tree size lies beyond the log.
        case outOfRange
        /// The log stopped accepting appends for good: recovering from a store failure found the store no longer
        /// holding what the log acknowledged (fail closed).
        case closed
    }

    /// What went wrong, for programmatic checks.
    public let code: Code
    /// A human-readable explanation naming what failed.
    public let context: String

    /// Creates an error.
    public init(_ code: Code, _ context: String) {
        self.code = code
        self.context = context
    }

    public var description: String { "\(code.rawValue): \(context)" }

    public static func == (lhs: AuditError, rhs: AuditError) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }
}
