/// A token of Cedar policy text.
struct Token: Sendable {
    enum Kind: Equatable, Sendable {
        case identifier(String)
        /// Decimal digits, not yet range-checked.
        case integer(String)
        /// The raw text between the quotes, escapes not yet decoded.
        case string(String)
        /// `?principal`, `?resource`, … (templates are not supported; kept for a precise error).
        case slot(String)
        case punctuation(String)
        case end
    }

    let kind: Kind
    let line: Int
    let column: Int
}

/// Splits Cedar policy text into tokens, tracking line and column (in Unicode scalars).
struct Lexer {
    private let scalars: [Unicode.Scalar]
    private var index = 0
    private var line = 1
    private var column = 1

    init(_ text: String) { scalars = Array(text.unicodeScalars) }

    private static func twoCharacterToken(_ c: Unicode.Scalar, _ d: Unicode.Scalar) -> String? {
        switch (c, d) {
        case (":", ":"): "::"
        case ("=", "="): "=="
        case ("!", "="): "!="
        case ("<", "="): "<="
        case (">", "="): ">="
        case ("|", "|"): "||"
        case ("&", "&"): "&&"
        default: nil
        }
    }
    private static let oneCharacter: Set<Unicode.Scalar> = [
        "@", ".", ",", ";", ":", "(", ")", "{", "}", "[", "]", "<", ">", "+", "-", "*", "/", "%", "!", "=",
    ]

    private func peek(_ offset: Int = 0) -> Unicode.Scalar? {
        index + offset < scalars.count ? scalars[index + offset] : nil
    }

    private mutating func advance() {
        if scalars[index] == "\n" {
            line += 1
            column = 1
        } else {
            column += 1
        }
        index += 1
    }

    private static func isIdentifierStart(_ c: Unicode.Scalar) -> Bool {
        c == "_" || (c >= "a" && c <= "z") || (c >= "A" && c <= "Z")
    }

    private static func isIdentifierContinue(_ c: Unicode.Scalar) -> Bool {
        isIdentifierStart(c) || (c >= "0" && c <= "9")
    }

    /// Tokenises the whole text, ending with an `.end` token.
    mutating func tokenize() throws(PolicyError) -> [Token] {
        var tokens: [Token] = []
        while true {
            // Skip white space and comments.
            while let c = peek() {
                if c == " " || c == "\n" || c == "\t" || c == "\r" || (c.value > 0x7F && c.properties.isWhitespace) {
                    advance()
                } else if c == "/" && peek(1) == "/" {
                    while let d = peek(), d != "\n" && d != "\r" { advance() }
                } else {
                    break
                }
            }
            let startLine = line
            let startColumn = column
            guard let c = peek() else {
                tokens.append(Token(kind: .end, line: startLine, column: startColumn))
                return tokens
            }
            func token(_ kind: Token.Kind) -> Token { Token(kind: kind, line: startLine, column: startColumn) }
            if Self.isIdentifierStart(c) {
                var text = String.UnicodeScalarView()
                while let d = peek(), Self.isIdentifierContinue(d) {
                    text.append(d)
                    advance()
                }
                tokens.append(token(.identifier(String(text))))
            } else if c >= "0" && c <= "9" {
                var text = String.UnicodeScalarView()
                while let d = peek(), d >= "0" && d <= "9" {
                    text.append(d)
                    advance()
                }
                tokens.append(token(.integer(String(text))))
            } else if c == "\"" {
                advance()
                var text = String.UnicodeScalarView()
                var closed = false
                while let d = peek() {
                    if d == "\\" {
                        text.append(d)
                        advance()
                        guard let e = peek() else { break }
                        text.append(e)
                        advance()
                    } else if d == "\"" {
                        advance()
                        closed = true
                        break
                    } else {
                        text.append(d)
                        advance()
                    }
                }
                guard closed else {
                    throw PolicyError(.syntax, "unterminated string literal", line: startLine, column: startColumn)
                }
                tokens.append(token(.string(String(text))))
            } else if c == "?" {
                advance()
                var text = String.UnicodeScalarView()
                while let d = peek(), Self.isIdentifierContinue(d) {
                    text.append(d)
                    advance()
                }
                tokens.append(token(.slot(String(text))))
            } else if let d = peek(1), let pair = Self.twoCharacterToken(c, d) {
                advance()
                advance()
                tokens.append(token(.punctuation(pair)))
            } else if Self.oneCharacter.contains(c) {
                advance()
                tokens.append(token(.punctuation(String(c))))
            } else {
                throw PolicyError(
                    .syntax,
                    "unexpected character '\(c.escaped(asASCII: true))'",
                    line: startLine,
                    column: startColumn
                )
            }
        }
    }

    /// Decodes Cedar escapes in string-literal text. With `pattern`, `\*` becomes a literal-star marker.
    static func unescape(_ raw: String, pattern: Bool = false) -> [PatternElement]? {
        var out: [PatternElement] = []
        var it = raw.unicodeScalars.makeIterator()
        while let c = it.next() {
            if c == "*" && pattern {
                out.append(.wildcard)
                continue
            }
            guard c == "\\" else {
                out.append(.scalar(c))
                continue
            }
            guard let e = it.next() else { return nil }
            switch e {
            case "n": out.append(.scalar("\n"))
            case "r": out.append(.scalar("\r"))
            case "t": out.append(.scalar("\t"))
            case "\\": out.append(.scalar("\\"))
            case "0": out.append(.scalar("\0"))
            case "'": out.append(.scalar("'"))
            case "\"": out.append(.scalar("\""))
            case "*" where pattern: out.append(.scalar("*"))
            case "u":
                guard it.next() == "{" else { return nil }
                var hex = ""
                var closed = false
                while let h = it.next() {
                    if h == "}" {
                        closed = true
                        break
                    }
                    hex.unicodeScalars.append(h)
                }
                guard closed, (1...6).contains(hex.count), let value = UInt32(hex, radix: 16),
                    hex.unicodeScalars.allSatisfy({ $0.properties.isASCIIHexDigit }),
                    let scalar = Unicode.Scalar(value)
                else { return nil }
                out.append(.scalar(scalar))
            default:
                return nil
            }
        }
        return out
    }

    /// Decodes a string literal's escapes, or `nil` when an escape is invalid.
    static func decodeString(_ raw: String) -> String? {
        guard let elements = unescape(raw) else { return nil }
        var view = String.UnicodeScalarView()
        for case .scalar(let s) in elements { view.append(s) }
        return String(view)
    }
}

/// One element of a `like` pattern.
enum PatternElement: Hashable, Sendable {
    case scalar(Unicode.Scalar)
    case wildcard
}
