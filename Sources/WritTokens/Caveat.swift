import WritCrypto

/// An extra condition a block adds. Caveats of all blocks must hold (they are conjunctive); a caveat can only
/// narrow what a token allows.
///
/// Unknown caveat kinds are rejected when a token is parsed, so a verifier never ignores a condition it does not
/// understand.
public enum Caveat: Hashable, Sendable, CustomStringConvertible {
    /// The whole token may have at most this many delegation blocks (0 forbids any further delegation).
    /// Wire kind `0x01`.
    case maximumDelegationDepth(UInt8)
    /// A proof of possession must be at most this many seconds old (tighter than the verifier's window).
    /// Wire kind `0x02`.
    case maximumProofAge(seconds: UInt32)
    /// The request must carry the attribute `name` with exactly `value` (e.g. `method` = `GET`).
    /// Names and values are 1…255 bytes of visible ASCII. Wire kind `0x03`.
    case requestAttribute(name: String, value: String)

    /// The wire kind byte.
    public var kind: UInt8 {
        switch self {
        case .maximumDelegationDepth: 0x01
        case .maximumProofAge: 0x02
        case .requestAttribute: 0x03
        }
    }

    public var description: String {
        switch self {
        case .maximumDelegationDepth(let depth): "maximumDelegationDepth(\(depth))"
        case .maximumProofAge(let seconds): "maximumProofAge(\(seconds)s)"
        case .requestAttribute(let name, let value): "requestAttribute(\(name)=\(value))"
        }
    }
}

// Everything a caveat kind means, in one place: how it is written and read (wire kinds 0x01…0x03), what mint and
// delegate accept, and what it checks — the chain's depth (`TokenVerifier`), the request (`VerifiedToken`'s
// `checkRequest`) and the proof's age (`VerifiedToken`'s `checkProof`). A new kind is added here and nowhere else
// but its wire decoding's `default` refusing it today.
extension Caveat {
    // MARK: What each kind checks

    /// The tightest delegation depth (total delegation blocks) that `caveats` allow, or `nil` if none limits it.
    static func delegationDepthLimit(_ caveats: [Caveat]) -> Int? {
        var limit: Int?
        for case .maximumDelegationDepth(let depth) in caveats { limit = min(limit ?? Int(depth), Int(depth)) }
        return limit
    }

    /// How old a proof may be under `caveats`: the tightest of `window` (the verifier's) and every proof-age caveat.
    static func proofFreshness(_ caveats: [Caveat], within window: Duration) -> Duration {
        var freshness = window
        for case .maximumProofAge(let seconds) in caveats { freshness = min(freshness, .seconds(Int64(seconds))) }
        return freshness
    }

    /// Whether `request` satisfies this caveat: a request-attribute caveat needs the attribute with exactly its
    /// value. Depth and proof-age caveats say nothing about the request (they are checked with the chain and the
    /// proof), so they admit every request.
    func admits(_ request: TokenRequest) -> Bool {
        switch self {
        case .requestAttribute(let name, let value): request.attributes[name] == value
        case .maximumDelegationDepth, .maximumProofAge: true
        }
    }

    // MARK: What mint and delegate accept

    /// Checks caveats a caller asks to mint or delegate with: at most ``TokenLimits/maximumCaveatsPerBlock``, and
    /// request-attribute names and values of 1…255 visible ASCII bytes.
    ///
    /// - Throws: ``TokenError/Code/tooManyCaveats`` or ``TokenError/Code/invalidClaims``.
    static func validate(_ caveats: [Caveat]) throws(TokenError) {
        guard caveats.count <= TokenLimits.maximumCaveatsPerBlock else {
            throw TokenError(.tooManyCaveats, "a block has at most \(TokenLimits.maximumCaveatsPerBlock) caveats")
        }
        for case .requestAttribute(let name, let value) in caveats {
            guard FieldRules.check(name, FieldRules.isAttribute), FieldRules.check(value, FieldRules.isAttribute)
            else {
                throw TokenError(
                    .invalidClaims,
                    "request-attribute caveat names and values are 1…255 visible ASCII bytes"
                )
            }
        }
    }

    // MARK: Wire form

    /// Reads `count` caveats (kind byte, then the kind's body), refusing an unknown kind.
    static func read(_ r: inout WireReader, count: Int) throws(TokenError) -> [Caveat] {
        guard count <= TokenLimits.maximumCaveatsPerBlock else {
            throw TokenError(
                .tooManyCaveats,
                "a block has at most \(TokenLimits.maximumCaveatsPerBlock) caveats, has \(count)",
                block: r.block
            )
        }
        var caveats: [Caveat] = []
        caveats.reserveCapacity(count)
        for index in 0..<count {
            let kind = try r.byte("caveat kind")
            switch kind {
            case 0x01:
                caveats.append(.maximumDelegationDepth(try r.byte("delegation depth")))
            case 0x02:
                caveats.append(
                    .maximumProofAge(seconds: UInt32(try r.varint("proof age", maximum: UInt64(UInt32.max))))
                )
            case 0x03:
                let name = try r.string("attribute name", maximumLength: TokenLimits.maximumAttributeLength)
                guard FieldRules.isAttribute(name) else { throw r.fail("attribute name outside visible ASCII") }
                let value = try r.string("attribute value", maximumLength: TokenLimits.maximumAttributeLength)
                guard FieldRules.isAttribute(value) else { throw r.fail("attribute value outside visible ASCII") }
                caveats.append(
                    .requestAttribute(
                        name: String(decoding: name, as: UTF8.self),
                        value: String(decoding: value, as: UTF8.self)
                    )
                )
            default:
                throw TokenError(
                    .unknownCaveatKind,
                    "caveat \(index) has unknown kind 0x\(Hex.encode([kind]))",
                    block: r.block
                )
            }
        }
        return caveats
    }

    /// Writes caveats (the count is the caller's).
    static func write(_ caveats: [Caveat], into w: inout WireWriter) {
        for caveat in caveats {
            w.byte(caveat.kind)
            switch caveat {
            case .maximumDelegationDepth(let depth): w.byte(depth)
            case .maximumProofAge(let seconds): w.varint(UInt64(seconds))
            case .requestAttribute(let name, let value):
                w.string(name)
                w.string(value)
            }
        }
    }
}
