/// An error raised by ``WritRevocation``.
///
/// Errors compare by ``code``; ``context`` names what failed.
public struct RevocationError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What went wrong.
    public enum Code: String, Hashable, Sendable {
        /// The credential is revoked.
        case revoked
        /// The verifier's revocation data is older than its staleness bound, so it fails closed.
        case stale
        /// A task or agent name was empty or too long, or a stored target could not be parsed.
        case invalidTarget
        /// An argument was out of range (a page limit below 1, a sequence of 0, an empty verifier name).
        case invalidArgument
        /// The store could not be read or written.
        case storeUnavailable
        /// The store returned data that breaks its contract (e.g. sequence 0).
        case corruptStore
        /// A feed record is not in the canonical binary form (bad version, kind, length or field).
        case malformed
        /// The feed is not what the authority signed: a bad or unknown signature, a broken chain, entries missing
        /// behind a signed head, a rollback or a fork.
        case tampered
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

    /// `code: context`.
    public var description: String { "\(code.rawValue): \(context)" }

    /// Errors are equal when their codes are.
    public static func == (lhs: RevocationError, rhs: RevocationError) -> Bool { lhs.code == rhs.code }
    /// Hashes the code only.
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }
}
