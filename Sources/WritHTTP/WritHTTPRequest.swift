#if HTTP
public import WritCrypto
public import WritTokens

/// A service's public origin, `scheme://host[:port]`, in the canonical form the request digest uses: scheme and
/// host in lower case, the default port (80 for `http`, 443 for `https`) omitted.
public struct WritOrigin: Hashable, Sendable, CustomStringConvertible {
    /// `http` or `https`.
    public let scheme: String
    /// The host, lower case (a name, an IPv4 address, or an IPv6 address in brackets).
    public let host: String
    /// The port, `nil` for the scheme's default.
    public let port: Int?

    /// Parses `scheme://host[:port]` (a trailing `/` is allowed; no path, query, user info or fragment).
    ///
    /// - Throws: ``WritHTTPError/Code/invalidOrigin``.
    public init(_ text: String) throws(WritHTTPError) {
        var rest = Substring(text)
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        let parts = rest.split(separator: "://", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else {
            throw WritHTTPError(.invalidOrigin, "origin '\(WritPresentation.clipped(text))' has no scheme")
        }
        let scheme = parts[0].lowercased()
        guard scheme == "http" || scheme == "https" else {
            throw WritHTTPError(.invalidOrigin, "origin scheme must be http or https")
        }
        let authority = parts[1]
        guard !authority.isEmpty, authority.utf8.count <= 255,
            authority.utf8.allSatisfy({ b in
                (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a)
                    || b == 0x2d || b == 0x2e || b == 0x3a || b == 0x5b || b == 0x5d
            })
        else {
            throw WritHTTPError(.invalidOrigin, "origin authority must be host[:port] without a path or user info")
        }
        var host = Substring(authority)
        var port: Int?
        if let colon = authority.lastIndex(of: ":"), !authority[colon...].contains("]") {
            guard let value = Int(authority[authority.index(after: colon)...]), value > 0, value <= 65535 else {
                throw WritHTTPError(.invalidOrigin, "origin port must be 1…65535")
            }
            port = value
            host = authority[..<colon]
        }
        guard !host.isEmpty else { throw WritHTTPError(.invalidOrigin, "origin has no host") }
        let canonicalHost = host.lowercased()
        let canonicalPort = (scheme == "http" && port == 80) || (scheme == "https" && port == 443) ? nil : port
        self.scheme = scheme
        self.host = canonicalHost
        self.port = canonicalPort
        description = "\(scheme)://\(canonicalHost)\(canonicalPort.map { ":\($0)" } ?? "")"
    }

    /// The canonical text, `scheme://host[:port]` (built once: every request's digest reads it).
    public let description: String

    /// Equal exactly when the canonical texts are.
    public static func == (lhs: WritOrigin, rhs: WritOrigin) -> Bool { lhs.description == rhs.description }

    /// Hashes the canonical text.
    public func hash(into hasher: inout Hasher) { hasher.combine(description) }
}

/// The HTTP facts a proof is bound to (`Docs/HTTPBinding.md` §2) and their digest.
public enum WritHTTPRequestDigest {
    static let tag: [UInt8] = Array("writ.http-request.v1\0".utf8)
    /// The longest request target (path and query) accepted, in bytes.
    public static let maximumTargetBytes = 8192

    /// SHA-256 of a body (the empty body's digest when `body` is empty).
    public static func bodyDigest(_ body: some Sequence<UInt8>) -> [UInt8] { SHA256.hash(body) }

    /// The request digest over method, target URI (origin + path + query) and body digest.
    ///
    /// - Parameters:
    ///   - method: the method as sent (`GET`).
    ///   - origin: the service's public origin.
    ///   - target: the request target as sent: path and optional `?query`, not decoded.
    ///   - bodyDigest: ``bodyDigest(_:)`` of the body.
    /// - Throws: ``WritHTTPError/Code/malformedRequest`` for an empty or non-token method, a target that is not
    ///   an origin-form path, or one longer than ``maximumTargetBytes``.
    public static func digest(
        method: String,
        origin: WritOrigin,
        target: String,
        bodyDigest: [UInt8]
    ) throws(WritHTTPError) -> [UInt8] {
        try validate(method: method, target: target)
        guard bodyDigest.count == SHA256.byteCount else {
            throw WritHTTPError(.malformedRequest, "a body digest is 32 bytes")
        }
        let uri = Array((origin.description + target).utf8)
        var hash = SHA256()
        hash.update(tag)
        append16(method.utf8.count, to: &hash)
        hash.update(method.utf8)
        append16(uri.count, to: &hash)
        hash.update(uri)
        hash.update(bodyDigest)
        return hash.finalize()
    }

    static func validate(method: String, target: String) throws(WritHTTPError) {
        guard !method.isEmpty, method.utf8.count <= 32,
            method.utf8.allSatisfy({ ($0 >= 0x41 && $0 <= 0x5a) || ($0 >= 0x61 && $0 <= 0x7a) || $0 == 0x2d })
        else {
            throw WritHTTPError(.malformedRequest, "the method is not a token of letters")
        }
        guard target.utf8.first == UInt8(ascii: "/"), target.utf8.count <= maximumTargetBytes,
            target.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f && $0 != UInt8(ascii: "#") })
        else {
            throw WritHTTPError(
                .malformedRequest,
                "the request target must be a path of at most \(maximumTargetBytes) visible ASCII bytes"
            )
        }
    }

    private static func append16(_ count: Int, to hash: inout SHA256) {
        hash.update(byte: UInt8(truncatingIfNeeded: count >> 8))
        hash.update(byte: UInt8(truncatingIfNeeded: count))
    }
}

/// Signs the headers of one HTTP request, as an agent or client does (`Docs/HTTPBinding.md` §1–§2).
public enum WritHTTPSigner {
    /// The `Authorization` and `Writ-Proof` header fields for one request.
    ///
    /// - Parameters:
    ///   - credential: the credential presented.
    ///   - key: its holder key.
    ///   - request: the Writ request (audience, action, resource) the HTTP request maps to.
    ///   - method: the HTTP method as sent.
    ///   - origin: the service's public origin.
    ///   - target: path and query, exactly as sent.
    ///   - body: the body bytes (empty for none).
    ///   - timestamp: now.
    /// - Throws: ``WritHTTPError/Code/malformedRequest`` as ``WritHTTPRequestDigest/digest(method:origin:target:bodyDigest:)``.
    public static func headerFields(
        credential: WritCredential,
        key: Ed25519.PrivateKey,
        request: TokenRequest,
        method: String,
        origin: WritOrigin,
        target: String,
        body: some Sequence<UInt8>,
        at timestamp: Timestamp
    ) throws(WritHTTPError) -> [(name: String, value: String)] {
        var bound = request
        bound.binding = try WritHTTPRequestDigest.digest(
            method: method,
            origin: origin,
            target: target,
            bodyDigest: WritHTTPRequestDigest.bodyDigest(body)
        )
        let proof = ProofOfPossession.sign(
            tokenDigest: credential.digest,
            request: bound,
            holderKey: key,
            at: timestamp
        )
        return WritPresentation(credential: credential.text, proof: proof.text).headerFields
    }
}
#endif
