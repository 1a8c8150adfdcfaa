#if HTTP
/// Why evidence fetched from a Writ server — a verifier's signed watermark reports, a service's audit entries and
/// signed checkpoint — does not verify.
///
/// The transport and the server's refusals stay ``WritHTTPError``; this error says the answer arrived but proves
/// nothing. Compare codes with `==`; new codes may be added. ``description`` names what failed, never a secret.
public struct WritEvidenceError: Error, Sendable, CustomStringConvertible {
    /// What failed.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String, Hashable, Sendable {
            case malformed
            case noKey = "no-key"
            case badSignature = "bad-signature"
            case wrongSubject = "wrong-subject"
            case truncated
            case modified
            case misplaced
        }

        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// A record in the answer does not decode (or the answer's shape is wrong).
        public static let malformed = Code(.malformed)
        /// No key to verify with: none was given and the server names none.
        public static let noKey = Code(.noKey)
        /// A signature does not verify by the key it must be made with.
        public static let badSignature = Code(.badSignature)
        /// A record is about another verifier or log than the one asked for.
        public static let wrongSubject = Code(.wrongSubject)
        /// The answer holds fewer records than the signed checkpoint says exist.
        public static let truncated = Code(.truncated)
        /// A record is not the one the signed checkpoint covers (its inclusion proof fails).
        public static let modified = Code(.modified)
        /// A record sits at another position than it records, or the answer's positions do not follow.
        public static let misplaced = Code(.misplaced)

        /// The code's stable text (`bad-signature`, …).
        public var description: String { value.rawValue }
    }

    /// What failed.
    public let code: Code
    /// What was wrong, in words (no secrets).
    public let message: String
    /// The error that caused it, when there was one (a decoding or proof error).
    public let underlying: (any Error)?

    /// Creates an error.
    public init(_ code: Code, _ message: String, underlying: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
    }

    public var description: String { "\(code): \(message)\(underlying.map { " — \($0)" } ?? "")" }
}
#endif
