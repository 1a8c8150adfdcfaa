/// A resource a token grants: either an exact resource name, or a prefix ending in `*`.
///
/// - `docs/q3.pdf` matches exactly `docs/q3.pdf`.
/// - `docs/*` matches every resource starting with `docs/` (and `*` alone matches every resource).
///
/// A `*` may appear only as the last character. Patterns are 1…1024 bytes of visible ASCII (`!`…`~`), so
/// comparison is byte-wise and free of Unicode normalisation.
///
/// Narrowing rule: a child block's pattern is allowed only if some pattern of the parent ``covers(_:)`` it —
/// everything the child matches, the parent matches too.
public struct ResourcePattern: Hashable, Sendable, Codable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// The pattern text.
    public let text: String

    /// Validates and wraps a pattern.
    ///
    /// - Throws: ``TokenError/Code/invalidClaims`` when the text is empty, too long, not visible ASCII, or has
    ///   a `*` before its last character.
    public init(_ text: String) throws(TokenError) {
        var copy = text
        let valid = copy.withUTF8 { ResourcePattern.isValid($0) }
        guard valid else {
            throw TokenError(
                .invalidClaims,
                "resource patterns are 1…1024 visible ASCII bytes with '*' only at the end"
            )
        }
        self.text = copy
    }

    init(trusted text: String) { self.text = text }

    /// Creates a pattern from a literal; a literal that is not a valid pattern is a programming error.
    public init(stringLiteral value: String) {
        do { try self.init(value) } catch { preconditionFailure("invalid resource pattern literal '\(value)'") }
    }

    /// Whether the pattern ends in `*`.
    public var isPrefix: Bool { text.utf8.last == UInt8(ascii: "*") }

    /// Whether `resource` is matched: equal to the pattern, or starting with its prefix when it ends in `*`.
    public func matches(_ resource: String) -> Bool {
        let p = text.utf8
        if p.last == UInt8(ascii: "*") {
            return resource.utf8.starts(with: p.dropLast())
        }
        return resource.utf8.elementsEqual(p)
    }

    /// Whether every resource matched by `other` is matched by `self`.
    ///
    /// An exact pattern covers only itself; a prefix pattern `p*` covers any pattern whose text (including a
    /// trailing `*`) starts with `p`.
    public func covers(_ other: ResourcePattern) -> Bool {
        let p = text.utf8
        if p.last == UInt8(ascii: "*") {
            return other.text.utf8.starts(with: p.dropLast())
        }
        return other.text.utf8.elementsEqual(p)
    }

    public var description: String { text }

    /// Decodes from the pattern text.
    public init(from decoder: any Decoder) throws {
        try self.init(try decoder.singleValueContainer().decode(String.self))
    }

    /// Encodes as the pattern text.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(text)
    }

    static func isValid(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard !bytes.isEmpty, bytes.count <= TokenLimits.maximumResourceLength else { return false }
        for (i, c) in bytes.enumerated() {
            guard c >= 0x21, c <= 0x7e else { return false }
            if c == UInt8(ascii: "*"), i != bytes.count - 1 { return false }
        }
        return true
    }
}
