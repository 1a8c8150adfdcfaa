/// A recursive-descent parser for Cedar policy text, following Cedar's grammar.
///
/// Nesting is capped (``PolicySet/Limits``): every expression node tracks the depth of the tree below it, so
/// hostile input gets a `limitExceeded` error rather than exhausting the stack during parsing or evaluation.
struct Parser {
    private let tokens: [Token]
    private var position = 0
    private let maxDepth: Int

    init(tokens: [Token], maxDepth: Int) {
        self.tokens = tokens
        self.maxDepth = maxDepth
    }

    /// An expression with the height of its tree.
    private typealias Node = (expression: Expression, depth: Int)

    /// Words Cedar reserves: not usable as attribute names, record keys, annotation keys or type names.
    private static let reserved: Set<String> = ["true", "false", "if", "then", "else", "in", "like", "has"]

    private func checkNotReserved(_ word: String, _ token: Token) throws(PolicyError) {
        if Self.reserved.contains(word) {
            throw error("'\(word)' is a reserved word and cannot be used here", at: token)
        }
    }

    // MARK: Token helpers

    private var current: Token { tokens[position] }

    private func error(_ message: String, at token: Token? = nil) -> PolicyError {
        let t = token ?? current
        return PolicyError(.syntax, message, line: t.line, column: t.column)
    }

    private func isPunctuation(_ p: String) -> Bool {
        if case .punctuation(let q) = current.kind { return p == q }
        return false
    }

    private func isIdentifier(_ word: String) -> Bool {
        if case .identifier(let w) = current.kind { return w == word }
        return false
    }

    private func describe(_ token: Token) -> String {
        switch token.kind {
        case .identifier(let s): "'\(s)'"
        case .integer(let s): "number \(s)"
        case .string: "string literal"
        case .slot(let s): "'?\(s)'"
        case .punctuation(let p): "'\(p)'"
        case .end: "end of input"
        }
    }

    private mutating func expect(_ p: String, _ what: String? = nil) throws(PolicyError) {
        guard isPunctuation(p) else {
            throw error("expected '\(p)'\(what.map { " " + $0 } ?? ""), found \(describe(current))")
        }
        position += 1
    }

    private mutating func identifier(_ what: String) throws(PolicyError) -> String {
        guard case .identifier(let word) = current.kind else {
            throw error("expected \(what), found \(describe(current))")
        }
        position += 1
        return word
    }

    private mutating func stringLiteral(_ what: String) throws(PolicyError) -> String {
        let token = current
        guard case .string(let raw) = token.kind else { throw error("expected \(what), found \(describe(token))") }
        position += 1
        guard let decoded = Lexer.decodeString(raw) else { throw error("invalid escape in string literal", at: token) }
        return decoded
    }

    private func checkDepth(_ depth: Int, _ token: Token) throws(PolicyError) {
        if depth > maxDepth {
            throw PolicyError(
                .limitExceeded,
                "expression nested deeper than \(maxDepth) levels",
                line: token.line,
                column: token.column
            )
        }
    }

    // MARK: Policies

    /// Parses every policy in the text.
    mutating func parsePolicies() throws(PolicyError) -> [CedarPolicy] {
        var policies: [CedarPolicy] = []
        while current.kind != .end {
            policies.append(try parsePolicy(index: policies.count))
        }
        return policies
    }

    private mutating func parsePolicy(index: Int) throws(PolicyError) -> CedarPolicy {
        let start = current
        var annotations: [(key: String, value: String)] = []
        while isPunctuation("@") {
            position += 1
            let keyToken = current
            let key = try identifier("an annotation name")
            try checkNotReserved(key, keyToken)
            var value = ""
            if isPunctuation("(") {
                position += 1
                value = try stringLiteral("an annotation value")
                try expect(")", "after the annotation value")
            }
            if annotations.contains(where: { $0.key == key }) {
                throw error("duplicate annotation '@\(key)'", at: keyToken)
            }
            annotations.append((key, value))
        }
        let effectToken = current
        let effect: PolicyEffect
        switch try identifier("'permit' or 'forbid'") {
        case "permit": effect = .permit
        case "forbid": effect = .forbid
        case let other: throw error("expected 'permit' or 'forbid', found '\(other)'", at: effectToken)
        }
        try expect("(", "after the effect")
        let principal = try parseScope(variable: "principal")
        try expect(",", "after the principal scope")
        let action = try parseScope(variable: "action")
        try expect(",", "after the action scope")
        let resource = try parseScope(variable: "resource")
        if isPunctuation(",") { throw error("unexpected ',' after the resource scope") }
        try expect(")", "to close the scope")
        var conditions: [(isWhen: Bool, expression: Expression)] = []
        while case .identifier(let word) = current.kind {
            guard word == "when" || word == "unless" else {
                throw error("expected 'when', 'unless' or ';', found '\(word)'")
            }
            position += 1
            try expect("{", "after '\(word)'")
            if isPunctuation("}") { throw error("'\(word)' has an empty body") }
            let (expression, _) = try parseExpression(depth: 1)
            try expect("}", "to close the '\(word)' body")
            conditions.append((word == "when", expression))
        }
        try expect(";", "at the end of the policy")
        if effect == .permit, annotations.contains(where: { $0.key == ReauthorizationCheckpoint.annotationKey }) {
            throw PolicyError(
                .invalidAnnotation,
                "@\(ReauthorizationCheckpoint.annotationKey) is only meaningful on a forbid policy",
                line: start.line,
                column: start.column
            )
        }
        return CedarPolicy(
            id: PolicyID("policy\(index)"),
            effect: effect,
            annotations: annotations,
            principal: principal,
            action: action,
            resource: resource,
            conditions: conditions,
            line: start.line
        )
    }

    private mutating func parseScope(variable: String) throws(PolicyError) -> ScopeConstraint {
        let token = current
        guard isIdentifier(variable) else {
            throw error("expected '\(variable)' in the policy scope, found \(describe(token))")
        }
        position += 1
        if isPunctuation(":") { throw error("type annotations are not allowed in the scope") }
        var type: String?
        if isIdentifier("is") {
            if variable == "action" { throw error("'is' is not allowed in the action scope") }
            position += 1
            type = try parseName()
        }
        if isPunctuation("==") {
            if type != nil { throw error("'is' cannot be combined with '==' in the scope") }
            position += 1
            return .equal(try scopeEntity(variable: variable))
        }
        if isIdentifier("in") {
            position += 1
            if variable == "action" && isPunctuation("[") {
                let listToken = current
                let (node, _) = try parseExpression(depth: 1)
                guard case .set(let elements) = node else { throw error("expected a list of actions", at: listToken) }
                var uids: [EntityUID] = []
                for element in elements {
                    guard case .literal(.entity(let uid)) = element else {
                        throw error("expected an action entity in the list", at: listToken)
                    }
                    try checkActionType(uid, listToken)
                    uids.append(uid)
                }
                return .memberOfAny(uids)
            }
            let uid = try scopeEntity(variable: variable)
            if let type { return .isTypeMemberOf(type, uid) }
            return .memberOf(uid)
        }
        if case .punctuation(let p) = current.kind, ["<", "<=", ">", ">=", "!=", "="].contains(p) {
            throw error("'\(p)' is not allowed in the policy scope")
        }
        if let type { return .isType(type) }
        return .any
    }

    private func checkActionType(_ uid: EntityUID, _ token: Token) throws(PolicyError) {
        guard uid.type == "Action" || uid.type.hasSuffix("::Action") else {
            throw error("expected an entity of type Action in the action scope, found \(uid.type)", at: token)
        }
    }

    private mutating func scopeEntity(variable: String) throws(PolicyError) -> EntityUID {
        let token = current
        if case .slot = token.kind { throw error("policy templates (slots) are not supported", at: token) }
        let (node, _) = try parseExpression(depth: 1)
        guard case .literal(.entity(let uid)) = node else {
            throw error("expected an entity literal in the \(variable) scope", at: token)
        }
        if variable == "action" { try checkActionType(uid, token) }
        return uid
    }

    /// Parses `Ident {'::' Ident}` (an entity type name).
    private mutating func parseName() throws(PolicyError) -> String {
        var token = current
        var parts = [try identifier("an entity type name")]
        try checkNotReserved(parts[0], token)
        while isPunctuation("::") {
            position += 1
            token = current
            parts.append(try identifier("a name after '::'"))
            try checkNotReserved(parts[parts.count - 1], token)
        }
        return parts.joined(separator: "::")
    }

    // MARK: Expressions

    private mutating func parseExpression(depth: Int) throws(PolicyError) -> Node {
        let token = current
        try checkDepth(depth, token)
        if isIdentifier("if") {
            position += 1
            let c = try parseExpression(depth: depth + 1)
            guard isIdentifier("then") else { throw error("expected 'then', found \(describe(current))") }
            position += 1
            let t = try parseExpression(depth: depth + 1)
            guard isIdentifier("else") else { throw error("expected 'else', found \(describe(current))") }
            position += 1
            let e = try parseExpression(depth: depth + 1)
            return (.ifThenElse(c.expression, t.expression, e.expression), 1 + max(c.depth, t.depth, e.depth))
        }
        return try parseOr(depth: depth)
    }

    private mutating func parseOr(depth: Int) throws(PolicyError) -> Node {
        let first = try parseAnd(depth: depth)
        guard isPunctuation("||") else { return first }
        var operands = [first.expression]
        var height = first.depth
        while isPunctuation("||") {
            position += 1
            let next = try parseAnd(depth: depth + 1)
            operands.append(next.expression)
            height = max(height, next.depth)
        }
        return (.or(operands), height + 1)
    }

    private mutating func parseAnd(depth: Int) throws(PolicyError) -> Node {
        let first = try parseRelation(depth: depth)
        guard isPunctuation("&&") else { return first }
        var operands = [first.expression]
        var height = first.depth
        while isPunctuation("&&") {
            position += 1
            let next = try parseRelation(depth: depth + 1)
            operands.append(next.expression)
            height = max(height, next.depth)
        }
        return (.and(operands), height + 1)
    }

    private mutating func parseRelation(depth: Int) throws(PolicyError) -> Node {
        let lhs = try parseAdd(depth: depth)
        let opToken = current
        var result: Node
        switch opToken.kind {
        case .punctuation(let p) where ["==", "!=", "<", "<=", ">", ">="].contains(p):
            position += 1
            let rhs = try parseAdd(depth: depth + 1)
            let d = max(lhs.depth, rhs.depth) + 1
            switch p {
            case "==": result = (.binary(.equal, lhs.expression, rhs.expression), d)
            case "!=": result = (.not(.binary(.equal, lhs.expression, rhs.expression)), d + 1)
            case "<": result = (.binary(.less, lhs.expression, rhs.expression), d)
            case "<=": result = (.binary(.lessOrEqual, lhs.expression, rhs.expression), d)
            case ">": result = (.binary(.less, rhs.expression, lhs.expression), d)
            default: result = (.binary(.lessOrEqual, rhs.expression, lhs.expression), d)
            }
        case .punctuation("="):
            throw error("'=' is not a valid operator; use '=='")
        case .identifier("in"):
            position += 1
            let rhs = try parseAdd(depth: depth + 1)
            result = (.binary(.memberOf, lhs.expression, rhs.expression), max(lhs.depth, rhs.depth) + 1)
        case .identifier("has"):
            position += 1
            var path: [String] = []
            if case .string = current.kind {
                path.append(try stringLiteral("an attribute name"))
            } else {
                var nameToken = current
                path.append(try identifier("an attribute name after 'has'"))
                try checkNotReserved(path[path.count - 1], nameToken)
                while isPunctuation(".") {
                    position += 1
                    nameToken = current
                    path.append(try identifier("an attribute name"))
                    try checkNotReserved(path[path.count - 1], nameToken)
                }
            }
            // `e has a.b` means `e has a && e.a has b`.
            var conjuncts: [Expression] = []
            var target = lhs.expression
            for (i, name) in path.enumerated() {
                conjuncts.append(.hasAttribute(target, name))
                if i + 1 < path.count { target = .getAttribute(target, name) }
            }
            result =
                conjuncts.count == 1
                ? (conjuncts[0], lhs.depth + 1) : (.and(conjuncts), lhs.depth + path.count + 1)
        case .identifier("like"):
            position += 1
            let patternToken = current
            guard case .string(let raw) = patternToken.kind else {
                throw error("expected a pattern string after 'like', found \(describe(patternToken))")
            }
            position += 1
            guard let pattern = Lexer.unescape(raw, pattern: true) else {
                throw error("invalid escape in pattern", at: patternToken)
            }
            result = (.like(lhs.expression, pattern), lhs.depth + 1)
        case .identifier("is"):
            position += 1
            let type = try parseName()
            if isIdentifier("in") {
                position += 1
                let rhs = try parseAdd(depth: depth + 1)
                result = (
                    .and([.isType(lhs.expression, type), .binary(.memberOf, lhs.expression, rhs.expression)]),
                    max(lhs.depth, rhs.depth) + 2
                )
            } else {
                result = (.isType(lhs.expression, type), lhs.depth + 1)
            }
        default:
            return lhs
        }
        switch current.kind {
        case .punctuation(let p) where ["==", "!=", "<", "<=", ">", ">=", "="].contains(p):
            throw error("comparison operators cannot be chained; add parentheses")
        case .identifier(let w) where ["in", "has", "like", "is"].contains(w):
            throw error("'\(w)' cannot follow another comparison; add parentheses")
        default:
            break
        }
        try checkDepth(depth + result.depth, opToken)
        return result
    }

    private mutating func parseAdd(depth: Int) throws(PolicyError) -> Node {
        var lhs = try parseMultiply(depth: depth)
        while case .punctuation(let p) = current.kind, p == "+" || p == "-" {
            let token = current
            position += 1
            let rhs = try parseMultiply(depth: depth + 1)
            lhs = (.binary(p == "+" ? .add : .subtract, lhs.expression, rhs.expression), max(lhs.depth, rhs.depth) + 1)
            try checkDepth(lhs.depth, token)
        }
        return lhs
    }

    private mutating func parseMultiply(depth: Int) throws(PolicyError) -> Node {
        var lhs = try parseUnary(depth: depth)
        while case .punctuation(let p) = current.kind, p == "*" || p == "/" || p == "%" {
            let token = current
            guard p == "*" else { throw error("'\(p)' is not supported in Cedar; only '*' multiplies") }
            position += 1
            let rhs = try parseUnary(depth: depth + 1)
            lhs = (.binary(.multiply, lhs.expression, rhs.expression), max(lhs.depth, rhs.depth) + 1)
            try checkDepth(lhs.depth, token)
        }
        return lhs
    }

    private mutating func parseUnary(depth: Int) throws(PolicyError) -> Node {
        let token = current
        guard case .punctuation(let p) = token.kind, p == "!" || p == "-" else {
            return try parseMember(depth: depth)
        }
        var count = 0
        while isPunctuation(p) {
            count += 1
            position += 1
        }
        if count > 4 { throw error("too many '\(p)' operators in a row (at most 4)", at: token) }
        if isPunctuation(p == "!" ? "-" : "!") { throw error("'!' and '-' cannot be mixed without parentheses") }
        if p == "-", case .integer(let digits) = current.kind, !followedByAccess(offset: 1) {
            // A dash before an integer literal makes a negative literal, so Long's minimum is writable.
            let literalToken = current
            position += 1
            guard let magnitude = UInt64(digits), magnitude <= UInt64(Int64.max) + 1 else {
                throw error("integer literal \(digits) is out of range", at: literalToken)
            }
            let value = magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude)
            var node: Node = (.literal(.long(value)), 1)
            for _ in 1..<count { node = (.negate(node.expression), node.depth + 1) }
            return node
        }
        var node = try parseMember(depth: depth + count)
        for _ in 0..<count { node = (p == "!" ? .not(node.expression) : .negate(node.expression), node.depth + 1) }
        try checkDepth(node.depth, token)
        return node
    }

    private func followedByAccess(offset: Int) -> Bool {
        let index = position + offset
        guard index < tokens.count, case .punctuation(let p) = tokens[index].kind else { return false }
        return p == "." || p == "[" || p == "("
    }

    private mutating func parseMember(depth: Int) throws(PolicyError) -> Node {
        var node = try parsePrimary(depth: depth)
        while true {
            let token = current
            if isPunctuation(".") {
                position += 1
                let nameToken = current
                let name = try identifier("an attribute or method name after '.'")
                if isPunctuation("(") {
                    position += 1
                    var args: [Node] = []
                    while !isPunctuation(")") {
                        args.append(try parseExpression(depth: depth + 1))
                        if isPunctuation(",") { position += 1 } else { break }
                    }
                    try expect(")", "to close the argument list")
                    node = try method(name, receiver: node, args: args, token: nameToken)
                } else {
                    if Self.reserved.contains(name) {
                        throw error("'\(name)' is a reserved word; use [\"\(name)\"]", at: nameToken)
                    }
                    node = (.getAttribute(node.expression, name), node.depth + 1)
                }
            } else if isPunctuation("[") {
                position += 1
                let name = try stringLiteral("a string literal index")
                try expect("]", "to close the index")
                node = (.getAttribute(node.expression, name), node.depth + 1)
            } else if isPunctuation("(") {
                throw error("only extension functions can be called")
            } else {
                return node
            }
            try checkDepth(depth + node.depth, token)
        }
    }

    private func method(_ name: String, receiver: Node, args: [Node], token: Token) throws(PolicyError) -> Node {
        let depth = max(receiver.depth, args.map(\.depth).max() ?? 0) + 1
        func requireArgs(_ n: Int) throws(PolicyError) {
            guard args.count == n else {
                throw error("'\(name)' takes \(n) argument\(n == 1 ? "" : "s"), found \(args.count)", at: token)
            }
        }
        let binary: BinaryOperator?
        switch name {
        case "contains": binary = .contains
        case "containsAll": binary = .containsAll
        case "containsAny": binary = .containsAny
        case "getTag": binary = .getTag
        case "hasTag": binary = .hasTag
        case "isEmpty":
            try requireArgs(0)
            return (.isEmpty(receiver.expression), depth)
        default: binary = nil
        }
        if let binary {
            try requireArgs(1)
            return (.binary(binary, receiver.expression, args[0].expression), depth)
        }
        guard let function = ExtensionFunction(rawValue: name), !function.isConstructor else {
            throw error("unknown method '\(name)'", at: token)
        }
        // Cedar reports a wrong argument count to an extension function when it is evaluated.
        return (.call(function, [receiver.expression] + args.map(\.expression)), depth)
    }

    private mutating func parsePrimary(depth: Int) throws(PolicyError) -> Node {
        let token = current
        try checkDepth(depth, token)
        switch token.kind {
        case .integer(let digits):
            position += 1
            guard let value = Int64(digits) else { throw error("integer literal \(digits) is out of range", at: token) }
            return (.literal(.long(value)), 1)
        case .string:
            return (.literal(.string(try stringLiteral("a string"))), 1)
        case .slot:
            throw error("policy templates (slots) are not supported")
        case .end:
            throw error("unexpected end of input; expected an expression")
        case .punctuation("("):
            position += 1
            let inner = try parseExpression(depth: depth + 1)
            try expect(")", "to close '('")
            return inner
        case .punctuation("["):
            position += 1
            var elements: [Node] = []
            while !isPunctuation("]") {
                elements.append(try parseExpression(depth: depth + 1))
                if isPunctuation(",") { position += 1 } else { break }
            }
            try expect("]", "to close the set")
            return (.set(elements.map(\.expression)), (elements.map(\.depth).max() ?? 0) + 1)
        case .punctuation("{"):
            position += 1
            var entries: [(String, Expression)] = []
            var height = 0
            while !isPunctuation("}") {
                let keyToken = current
                let key: String
                switch keyToken.kind {
                case .identifier(let word):
                    try checkNotReserved(word, keyToken)
                    position += 1
                    key = word
                case .string:
                    key = try stringLiteral("a record key")
                default:
                    throw error("expected a record key (identifier or string), found \(describe(keyToken))")
                }
                if entries.contains(where: { ScalarText.equal($0.0, key) }) {
                    throw error("duplicate key '\(key)' in record literal", at: keyToken)
                }
                try expect(":", "after the record key")
                let value = try parseExpression(depth: depth + 1)
                entries.append((key, value.expression))
                height = max(height, value.depth)
                if isPunctuation(",") { position += 1 } else { break }
            }
            try expect("}", "to close the record")
            return (.record(entries), height + 1)
        case .identifier(let word):
            switch word {
            case "true":
                position += 1
                return (.literal(.bool(true)), 1)
            case "false":
                position += 1
                return (.literal(.bool(false)), 1)
            case "if":
                throw error("'if' must be parenthesised here")
            default:
                break
            }
            position += 1
            var path = [word]
            while isPunctuation("::") {
                position += 1
                switch current.kind {
                case .identifier(let next):
                    position += 1
                    path.append(next)
                case .string:
                    for segment in path { try checkNotReserved(segment, token) }
                    let id = try stringLiteral("an entity id")
                    return (.literal(.entity(EntityUID(type: path.joined(separator: "::"), id: id))), 1)
                case .punctuation("{"):
                    throw error("entity records ('Type::{…}') are not supported")
                default:
                    throw error("expected a name or entity id after '::', found \(describe(current))")
                }
            }
            if isPunctuation("(") {
                guard path.count == 1, let function = ExtensionFunction(rawValue: word), function.isConstructor else {
                    throw error("unknown function '\(path.joined(separator: "::"))'", at: token)
                }
                position += 1
                var args: [Node] = []
                while !isPunctuation(")") {
                    args.append(try parseExpression(depth: depth + 1))
                    if isPunctuation(",") { position += 1 } else { break }
                }
                try expect(")", "to close the argument list")
                return (.call(function, args.map(\.expression)), (args.map(\.depth).max() ?? 0) + 1)
            }
            guard path.count == 1 else {
                throw error("'\(path.joined(separator: "::"))' is not an entity reference or function", at: token)
            }
            switch word {
            case "principal": return (.variable(.principal), 1)
            case "action": return (.variable(.action), 1)
            case "resource": return (.variable(.resource), 1)
            case "context": return (.variable(.context), 1)
            default: throw error("unknown variable '\(word)'", at: token)
            }
        case .punctuation(let p):
            throw error("unexpected '\(p)'; expected an expression")
        }
    }
}
