/// The identity of an agent: a SPIFFE ID, `spiffe://<trust-domain>/<path>`.
///
/// Writ's convention is `spiffe://<trust-domain>/agent/<class>/<instance>`, but any ID that is valid under the
/// SPIFFE specification (SPIFFE-ID.md §2) is accepted:
/// - the scheme is exactly `spiffe://` (lowercase);
/// - the trust domain is 1…255 bytes of `a-z`, `0-9`, `.`, `-`, `_` (no port, user info or upper case);
/// - the path is empty or a sequence of `/segment`, each segment non-empty, not `.` or `..`, made of
///   `a-z`, `A-Z`, `0-9`, `.`, `-`, `_` (so no percent-encoding, query, fragment or trailing slash);
/// - the whole ID is at most 2048 bytes.
///
/// Because the character sets are ASCII, two IDs are equal exactly when their bytes are equal (no Unicode
/// normalisation is involved).
public struct AgentIdentity: Hashable, Sendable, Comparable, CustomStringConvertible, Codable {
    /// The URI scheme and separator every SPIFFE ID starts with.
    public static let scheme = "spiffe://"
    /// The longest trust domain accepted, in bytes.
    public static let maximumTrustDomainLength = 255
    /// The longest ID accepted (scheme included), in bytes.
    public static let maximumLength = 2048

    /// The trust domain, e.g. `acme.dev`.
    public let trustDomain: String
    /// The path, empty or starting with `/`, e.g. `/agent/researcher/7`.
    public let path: String
    /// The full URI form, `spiffe://<trust-domain><path>` (built once: it is read several times per request).
    public let description: String

    /// Parses and validates a SPIFFE ID such as `spiffe://acme.dev/agent/researcher/7`.
    ///
    /// - Throws: ``IdentityError`` naming the rule that the text breaks.
    public init(_ text: String) throws(IdentityError) {
        let utf8 = Array(text.utf8)
        let parsed: (String, String) = try utf8.withUnsafeBufferPointer { bytes throws(IdentityError) in
            let scheme = Array(AgentIdentity.scheme.utf8)
            guard bytes.count >= scheme.count, Array(bytes[0..<scheme.count]) == scheme else {
                throw IdentityError(.invalidScheme, "a SPIFFE ID starts with 'spiffe://'")
            }
            return try AgentIdentity.validate(UnsafeBufferPointer(rebasing: bytes[scheme.count...]))
        }
        trustDomain = parsed.0
        path = parsed.1
        description = AgentIdentity.scheme + parsed.0 + parsed.1
    }

    /// Creates an ID from a trust domain and a path (empty, or starting with `/`).
    ///
    /// - Throws: ``IdentityError`` naming the rule that the parts break.
    public init(trustDomain: String, path: String) throws(IdentityError) {
        try self.init(AgentIdentity.scheme + trustDomain + path)
    }

    /// Parses the compact wire form used inside tokens and identity documents: the ID without `spiffe://`.
    ///
    /// - Throws: ``IdentityError`` naming the rule that the bytes break.
    public init(wireForm bytes: UnsafeBufferPointer<UInt8>) throws(IdentityError) {
        let parsed = try AgentIdentity.validate(bytes)
        trustDomain = parsed.0
        path = parsed.1
        description = AgentIdentity.scheme + parsed.0 + parsed.1
    }

    /// Parses the compact wire form (the ID without `spiffe://`) from a byte array.
    ///
    /// - Throws: ``IdentityError`` naming the rule that the bytes break.
    public init(wireForm bytes: [UInt8]) throws(IdentityError) {
        let parsed = try bytes.withUnsafeBufferPointer { buffer throws(IdentityError) in
            try AgentIdentity.validate(buffer)
        }
        trustDomain = parsed.0
        path = parsed.1
        description = AgentIdentity.scheme + parsed.0 + parsed.1
    }

    /// The wire form: the ID's UTF-8 bytes without the `spiffe://` scheme.
    public var wireForm: [UInt8] { Array(trustDomain.utf8) + Array(path.utf8) }

    /// The path's segments, e.g. `["agent", "researcher", "7"]`.
    public var pathSegments: [Substring] { path.split(separator: "/") }

    /// Whether this ID belongs to `trustDomain`.
    public func isMember(of trustDomain: String) -> Bool { self.trustDomain == trustDomain }

    /// Equal exactly when the URI forms are (the trust domain and path follow from it).
    public static func == (lhs: AgentIdentity, rhs: AgentIdentity) -> Bool { lhs.description == rhs.description }

    /// Hashes the URI form.
    public func hash(into hasher: inout Hasher) { hasher.combine(description) }

    public static func < (lhs: AgentIdentity, rhs: AgentIdentity) -> Bool { lhs.description < rhs.description }

    /// Decodes from the URI string form.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        try self.init(try container.decode(String.self))
    }

    /// Encodes as the URI string form.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    /// Validates `trust-domain[/path]` (the ID after the scheme) and splits it.
    private static func validate(_ bytes: UnsafeBufferPointer<UInt8>) throws(IdentityError) -> (String, String) {
        guard bytes.count + scheme.utf8.count <= maximumLength else {
            throw IdentityError(.identityTooLong, "a SPIFFE ID is at most \(maximumLength) bytes")
        }
        var index = 0
        while index < bytes.count, bytes[index] != UInt8(ascii: "/") {
            let c = bytes[index]
            guard isTrustDomainCharacter(c) else {
                throw IdentityError(
                    .invalidTrustDomainCharacter,
                    "trust domain characters are limited to lowercase letters, digits, '.', '-' and '_' (byte \(index))"
                )
            }
            index += 1
        }
        let domainEnd = index
        guard domainEnd > 0 else { throw IdentityError(.emptyTrustDomain, "the trust domain is missing") }
        guard domainEnd <= maximumTrustDomainLength else {
            throw IdentityError(.trustDomainTooLong, "a trust domain is at most \(maximumTrustDomainLength) bytes")
        }
        // Path: ("/" segment)*
        while index < bytes.count {
            // bytes[index] == "/"
            let segmentStart = index + 1
            var end = segmentStart
            while end < bytes.count, bytes[end] != UInt8(ascii: "/") {
                guard isPathCharacter(bytes[end]) else {
                    throw IdentityError(
                        .invalidPathCharacter,
                        "path characters are limited to letters, digits, '.', '-' and '_' (byte \(end))"
                    )
                }
                end += 1
            }
            let length = end - segmentStart
            if length == 0 {
                throw IdentityError(
                    .emptyPathSegment,
                    end == bytes.count ? "the path has a trailing slash" : "the path has an empty segment"
                )
            }
            if bytes[segmentStart] == UInt8(ascii: ".")
                && (length == 1 || (length == 2 && bytes[segmentStart + 1] == UInt8(ascii: ".")))
            {
                throw IdentityError(.dotPathSegment, "the path has a '.' or '..' segment")
            }
            index = end
        }
        let domain = String(decoding: UnsafeBufferPointer(rebasing: bytes[0..<domainEnd]), as: UTF8.self)
        let path = String(decoding: UnsafeBufferPointer(rebasing: bytes[domainEnd...]), as: UTF8.self)
        return (domain, path)
    }

    @inline(__always)
    private static func isTrustDomainCharacter(_ c: UInt8) -> Bool {
        (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9"))
            || c == UInt8(ascii: ".") || c == UInt8(ascii: "-") || c == UInt8(ascii: "_")
    }

    @inline(__always)
    private static func isPathCharacter(_ c: UInt8) -> Bool {
        isTrustDomainCharacter(c) || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z"))
    }
}
