#if HTTP
/// How a service maps an HTTP method and path to a Writ action and resource (`Docs/HTTPBinding.md` §3).
///
/// Rules are tried in order; the first whose method and path pattern match gives the action and the resource
/// template. Without a matching rule the default applies: action = the method in lower case, resource = the path
/// without its leading `/`. Mapping is pure (method and path only, never the query), so a client computes the
/// same Writ request.
public struct WritRouteMap: Sendable, Hashable {
    /// One rule: `method` (or `*`), a path pattern, and what it maps to.
    public struct Rule: Sendable, Hashable {
        /// The method matched exactly (upper case), or `*` for any.
        public let method: String
        /// The pattern's segments.
        let pattern: [Segment]
        /// The action given.
        public let action: String
        /// The resource template (`:name` and `*` substituted).
        public let resource: String

        enum Segment: Sendable, Hashable {
            case literal(String)
            case capture(String)
            case rest
        }

        /// Creates a rule.
        ///
        /// - Parameters:
        ///   - method: `GET`, `POST`, … or `*`.
        ///   - path: `/literal/:name/*` — literals, `:name` (one segment) and a trailing `*` (the rest).
        ///   - action: the action the route maps to.
        ///   - resource: the resource template, e.g. `repo/:owner/*`.
        /// - Throws: ``WritHTTPError/Code/invalidRoute`` for a pattern not starting with `/`, a `*` not last,
        ///   a template naming a capture the pattern lacks, or an empty action.
        public init(method: String, path: String, action: String, resource: String) throws(WritHTTPError) {
            guard path.hasPrefix("/") else { throw WritHTTPError(.invalidRoute, "a route pattern starts with '/'") }
            guard !action.isEmpty, !resource.isEmpty else {
                throw WritHTTPError(.invalidRoute, "a route rule needs an action and a resource")
            }
            let parts = path.dropFirst().split(separator: "/", omittingEmptySubsequences: false).map(String.init)
            var segments: [Segment] = []
            for (i, part) in parts.enumerated() {
                if part == "*" {
                    guard i == parts.count - 1 else { throw WritHTTPError(.invalidRoute, "'*' must be last") }
                    segments.append(.rest)
                } else if part.hasPrefix(":"), part.count > 1 {
                    segments.append(.capture(String(part.dropFirst())))
                } else {
                    segments.append(.literal(part))
                }
            }
            let names = Set(segments.compactMap { if case .capture(let n) = $0 { n } else { nil } })
            for piece in resource.split(separator: "/") where piece.hasPrefix(":") {
                guard names.contains(String(piece.dropFirst())) else {
                    throw WritHTTPError(.invalidRoute, "resource template names '\(piece)', which the path lacks")
                }
            }
            self.method = method == "*" ? "*" : method.uppercased()
            self.pattern = segments
            self.action = action
            self.resource = resource
        }

        func match(method: String, segments path: [Substring]) -> (action: String, resource: String)? {
            guard self.method == "*" || self.method == method else { return nil }
            var captures: [String: Substring] = [:]
            var rest: Substring?
            var i = 0
            for segment in pattern {
                switch segment {
                case .literal(let text):
                    guard i < path.count, path[i] == text else { return nil }
                    i += 1
                case .capture(let name):
                    guard i < path.count, !path[i].isEmpty else { return nil }
                    captures[name] = path[i]
                    i += 1
                case .rest:
                    guard i < path.count else { return nil }
                    rest = path[i...].joined(separator: "/")[...]
                    i = path.count
                }
            }
            guard i == path.count else { return nil }
            let resource = self.resource.split(separator: "/", omittingEmptySubsequences: false).map {
                piece -> Substring in
                if piece == "*" { return rest ?? "" }
                if piece.hasPrefix(":"), let value = captures[String(piece.dropFirst())] { return value }
                return piece
            }.joined(separator: "/")
            return (action, resource)
        }
    }

    /// The rules, in order.
    public var rules: [Rule]

    /// Creates a map (no rules: the default mapping only).
    public init(rules: [Rule] = []) { self.rules = rules }

    /// The action and resource for a method and request target (the query is ignored).
    ///
    /// - Throws: ``WritHTTPError/Code/malformedRequest`` for a target that is not a path.
    public func map(method: String, target: String) throws(WritHTTPError) -> (action: String, resource: String) {
        try WritHTTPRequestDigest.validate(method: method, target: target)
        let path = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)[0]
        let segments = path.dropFirst().split(separator: "/", omittingEmptySubsequences: false)
        for rule in rules {
            if let mapped = rule.match(method: method, segments: segments) { return mapped }
        }
        return (method.lowercased(), path == "/" ? "/" : String(path.dropFirst()))
    }
}
#endif
