/// An error raised while reading policies, entities or requests.
///
/// Errors compare by ``code``; ``context`` says what failed in words. Parse errors also carry the
/// ``line`` and ``column`` (1-based, counted in Unicode scalars) where the problem was found.
public struct PolicyError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What went wrong.
    ///
    /// New codes may be added: compare codes with `==` (a `switch` needs a `default`). ``description`` is
    /// the stable text that audit logs, JSON output and tests use.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String, Hashable, Sendable {
            case syntax
            case limitExceeded
            case invalidJSON
            case invalidData
            case invalidAnnotation
        }

        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// Policy text is not valid Cedar (or uses a form this evaluator does not support, such as templates).
        public static let syntax = Code(.syntax)
        /// Input exceeded a size or nesting cap.
        public static let limitExceeded = Code(.limitExceeded)
        /// JSON text could not be parsed.
        public static let invalidJSON = Code(.invalidJSON)
        /// JSON was well formed but not a valid Cedar entity, value or request.
        public static let invalidData = Code(.invalidData)
        /// An annotation with a meaning to Writ (such as `@checkpoint`) was used wrongly.
        public static let invalidAnnotation = Code(.invalidAnnotation)

        /// The code's stable text (`syntax`, …).
        public var description: String { value.rawValue }
    }

    /// What went wrong, for programmatic checks.
    public let code: Code
    /// A human-readable explanation naming what failed.
    public let context: String
    /// The 1-based line of a parse error, when known.
    public let line: Int?
    /// The 1-based column of a parse error, when known.
    public let column: Int?

    /// Creates an error.
    public init(_ code: Code, _ context: String, line: Int? = nil, column: Int? = nil) {
        self.code = code
        self.context = context
        self.line = line
        self.column = column
    }

    public var description: String {
        if let line, let column { return "\(code) at \(line):\(column): \(context)" }
        return "\(code): \(context)"
    }

    public static func == (lhs: PolicyError, rhs: PolicyError) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }
}
